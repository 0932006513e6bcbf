package dev.clawfence.policy;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads values out of a JSON-shaped tree while collecting every problem with its path, so that one
 * pass reports everything that is wrong. Each reading method returns null when the value is absent
 * or wrong, after recording why.
 */
final class TreeReader {

    static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    private final List<Problem> problems = new ArrayList<>();

    List<Problem> problems() {
        return problems;
    }

    boolean hasErrors() {
        for (Problem problem : problems) {
            if (problem.severity() == Problem.Severity.ERROR) {
                return true;
            }
        }
        return false;
    }

    int errorCount() {
        int count = 0;
        for (Problem problem : problems) {
            if (problem.severity() == Problem.Severity.ERROR) {
                count++;
            }
        }
        return count;
    }

    void error(String path, String message) {
        problems.add(Problem.error(path, message));
    }

    void warning(String path, String message) {
        problems.add(Problem.warning(path, message));
    }

    static String field(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    static String index(String path, int i) {
        return path + "[" + i + "]";
    }

    /** An object whose keys must all be in {@code fields} (listed in the order the message names them). */
    @SuppressWarnings("unchecked")
    Map<String, Object> object(Object value, String path, List<String> fields) {
        if (!(value instanceof Map<?, ?> map)) {
            error(rootName(path), "expected an object, got " + typeName(value));
            return null;
        }
        for (Object key : map.keySet()) {
            if (!(key instanceof String name) || !fields.contains(name)) {
                error(field(path, String.valueOf(key)), "unknown field; expected one of " + String.join(", ", fields));
            }
        }
        return (Map<String, Object>) map;
    }

    /** A list of at most {@code max} items, the limit named in the message when exceeded. */
    List<?> list(Object value, String path, int max) {
        if (!(value instanceof List<?> list)) {
            error(rootName(path), "expected a list, got " + typeName(value));
            return null;
        }
        if (list.size() > max) {
            error(path, "has " + list.size() + " items; the limit is " + max);
            return null;
        }
        return list;
    }

    /**
     * A one-line text of 1 to {@code maxLength} characters. Control characters and line breaks are
     * rejected everywhere because texts end up in logs, events and explanations.
     */
    String text(Object value, String path, int maxLength) {
        if (!(value instanceof String text)) {
            error(path, "expected a string, got " + typeName(value));
            return null;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                error(path, "contains a control character or line break at position " + i + "; write it on one line");
                return null;
            }
        }
        if (text.isBlank()) {
            error(path, "must not be empty");
            return null;
        }
        if (text.length() > maxLength) {
            error(path, "is " + text.length() + " characters long; the limit is " + maxLength);
            return null;
        }
        return text;
    }

    /** A required value: records "is required" when absent (null counts as absent). */
    boolean present(Map<String, Object> object, String name, String path) {
        if (object.get(name) == null) {
            error(field(path, name), "is required");
            return false;
        }
        return true;
    }

    /** A whole number (any JSON number without a fraction). */
    Integer wholeNumber(Object value, String path) {
        if (!(value instanceof Number number)) {
            error(path, "expected a whole number, got " + typeName(value));
            return null;
        }
        double asDouble = number.doubleValue();
        if (asDouble != Math.rint(asDouble) || Double.isInfinite(asDouble)) {
            error(path, number + " is not a whole number");
            return null;
        }
        if (asDouble > Integer.MAX_VALUE || asDouble < Integer.MIN_VALUE) {
            error(path, number + " is out of range");
            return null;
        }
        return (int) asDouble;
    }

    /** One of the enum's wire names, exactly (case-sensitive). */
    <E extends Enum<E>> E choice(Object value, String path, E[] values, Function<E, String> wireName) {
        String text = text(value, path, 100);
        if (text == null) {
            return null;
        }
        for (E candidate : values) {
            if (wireName.apply(candidate).equals(text)) {
                return candidate;
            }
        }
        error(path, AddressSyntax.quote(text) + " is not one of "
                + java.util.Arrays.stream(values).map(wireName).collect(Collectors.joining(", ")));
        return null;
    }

    /** An ISO-8601 instant with a zone offset, such as {@code 2026-12-31T23:59:59Z}. */
    Instant instant(Object value, String path) {
        String text = text(value, path, 100);
        if (text == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            error(path, AddressSyntax.quote(text) + " is not an ISO-8601 time with an offset, such as \"2026-12-31T23:59:59Z\"");
            return null;
        }
    }

    /** A rule id as people and {@link RuleStamper} write them. */
    String id(Object value, String path) {
        String text = text(value, path, 100);
        if (text == null) {
            return null;
        }
        if (!isId(text)) {
            error(path, AddressSyntax.quote(text) + " is not a valid id (lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters)");
            return null;
        }
        return text;
    }

    /** Whether {@code text} matches {@link #ID}; a loop, because ids are read once per rule. */
    static boolean isId(String text) {
        if (text.isEmpty() || text.length() > 63 || text.charAt(0) == '-') {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static String rootName(String path) {
        return path.isEmpty() ? "$" : path;
    }

    static String typeName(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Number) {
            return "a number";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        if (value instanceof List<?>) {
            return "a list";
        }
        if (value instanceof Map<?, ?>) {
            return "an object";
        }
        return "a " + value.getClass().getSimpleName();
    }
}
