package dev.clawfence.controlplane.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON request body read into a tree (maps, lists, strings, numbers, booleans, null) whose fields
 * are taken one by one; every missing or wrong field is remembered with its path, and {@link #done()}
 * reports them all at once as a 422 problem.
 */
public final class JsonBody {

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Map<?, ?> fields;
    private final List<ApiProblem.FieldError> errors = new ArrayList<>();
    private final Set<String> known = new HashSet<>();

    private JsonBody(Map<?, ?> fields) {
        this.fields = fields;
    }

    /** Parses any JSON text into a tree; malformed text is a 400 problem naming the position. */
    public static Object parseTree(String text) {
        if (text == null || text.isBlank()) {
            throw ApiProblem.badRequest("body", "the request body is empty; send a JSON object");
        }
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            var location = e.getLocation();
            String where = location == null ? "" : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
            throw ApiProblem.badRequest("body", "malformed JSON" + where + ": " + e.getOriginalMessage());
        }
    }

    /** Reads a body that must be a JSON object. */
    public static JsonBody of(String text) {
        Object tree = parseTree(text);
        if (!(tree instanceof Map<?, ?> map)) {
            throw ApiProblem.badRequest("body", "expected a JSON object");
        }
        return new JsonBody(map);
    }

    /** The raw tree, for parts handed whole to another reader (e.g. a policy document). */
    public Object raw(String name) {
        known.add(name);
        return fields.get(name);
    }

    /** Whether the field is in the body at all, also when its value is null (which {@link #has} counts as absent). */
    public boolean present(String name) {
        known.add(name);
        return fields.containsKey(name);
    }

    public boolean has(String name) {
        known.add(name);
        return fields.containsKey(name) && fields.get(name) != null;
    }

    /** A required, non-blank string of at most {@code maxLength} characters. */
    public String text(String name, int maxLength) {
        known.add(name);
        Object value = fields.get(name);
        if (!(value instanceof String s) || s.isBlank()) {
            errors.add(new ApiProblem.FieldError(name, value == null ? "is required" : "must be a non-empty string"));
            return null;
        }
        if (s.length() > maxLength) {
            errors.add(new ApiProblem.FieldError(name, "must be at most " + maxLength + " characters"));
            return null;
        }
        return s.strip();
    }

    /** An optional string; null when absent. */
    public String optionalText(String name, int maxLength) {
        return has(name) ? text(name, maxLength) : null;
    }

    /** An optional whole number in {@code [min, max]}; {@code fallback} when absent. */
    public long optionalInteger(String name, long min, long max, long fallback) {
        known.add(name);
        Object value = fields.get(name);
        if (value == null) {
            return fallback;
        }
        if (!(value instanceof Integer || value instanceof Long)
                || ((Number) value).longValue() < min || ((Number) value).longValue() > max) {
            errors.add(new ApiProblem.FieldError(name, "is " + value + "; expected a whole number from " + min
                    + " to " + max));
            return fallback;
        }
        return ((Number) value).longValue();
    }

    /** A required string out of {@code allowed}. */
    public String oneOf(String name, Set<String> allowed) {
        known.add(name);
        Object value = fields.get(name);
        if (!(value instanceof String s) || !allowed.contains(s)) {
            errors.add(new ApiProblem.FieldError(name, (value == null ? "is required" : "is \"" + value + "\"")
                    + "; expected one of " + allowed.stream().sorted().toList()));
            return null;
        }
        return s;
    }

    /** Records a problem found by the caller's own check of a field. */
    public void error(String path, String message) {
        errors.add(new ApiProblem.FieldError(path, message));
    }

    /**
     * Fails with a 422 problem listing every field error found so far, if any, and every field that no
     * reader asked for: a misspelt optional field should not be silently ignored.
     */
    public void done() {
        fields.keySet().stream().map(String::valueOf).filter(name -> !known.contains(name)).sorted()
                .forEach(name -> errors.add(new ApiProblem.FieldError(name, "is not a known field")));
        if (!errors.isEmpty()) {
            throw ApiProblem.invalid(errors.size() == 1 ? errors.getFirst().path() + " " + errors.getFirst().message()
                    : errors.size() + " fields are invalid", errors);
        }
    }
}
