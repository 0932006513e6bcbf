package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.ApiProblem;
import inet.ipaddr.AddressStringException;
import inet.ipaddr.AddressStringParameters;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.IPAddressStringParameters;
import io.micronaut.http.HttpStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The filters of the event list, its export and its live stream, read from query parameters: every
 * problem is reported at once as a 400 problem naming the parameter. Values are typed here so that the
 * query binds them and never builds SQL from user text.
 *
 * @param from inclusive lower bound of the event time (list and export: default 24 hours before now)
 * @param to exclusive upper bound (list and export: default now)
 * @param directions allowed directions, empty for all
 * @param verdicts allowed verdicts, empty for all
 * @param address the peer address or block (the other end of the connection), canonical, or null
 * @param port destination port, or null
 * @param protocol IP protocol number, or null
 * @param rule rule id, or null
 * @param reason reason wire name, or null
 * @param instance instance id, or null
 * @param fingerprint a hash of the tenant and the filter parameters as given, which a cursor carries so
 *     that it is refused with other filters or in another tenant
 */
public record EventFilter(
        Instant from,
        Instant to,
        Set<String> directions,
        Set<String> verdicts,
        String address,
        Integer port,
        Integer protocol,
        String rule,
        String reason,
        UUID instance,
        byte[] fingerprint) {

    static final Duration DEFAULT_RANGE = Duration.ofHours(24);
    static final Set<String> DIRECTIONS = Set.of("inbound", "outbound");
    static final Set<String> VERDICTS = Set.of("allowed", "blocked", "would-block");
    static final Map<String, Integer> PROTOCOLS = Map.of("icmp", 1, "tcp", 6, "udp", 17, "icmpv6", 58);
    private static final int MAX_TEXT = 200;

    // Plain dotted quads and hexadecimal-colon forms only: no inet_aton shorthand ("10.1"), no ranges,
    // wildcards, masks or zones, which inet.ipaddr would otherwise accept.
    private static final IPAddressStringParameters STRICT = new IPAddressStringParameters.Builder()
            .allowEmpty(false).allowAll(false).allowSingleSegment(false).allowMask(false)
            .allowWildcardedSeparator(false).allow_inet_aton(false)
            .getIPv4AddressParametersBuilder().setRangeOptions(AddressStringParameters.RangeParameters.NO_RANGE)
            .allowLeadingZeros(false).getParentBuilder()
            .getIPv6AddressParametersBuilder().setRangeOptions(AddressStringParameters.RangeParameters.NO_RANGE)
            .allowZone(false).allowMixed(false).getParentBuilder()
            .toParams();

    /** The raw query parameters of a request: each name with its values in order (repeatable ones may have several). */
    public interface Params {
        List<String> all(String name);

        default String one(String name) {
            List<String> values = all(name);
            return values.isEmpty() ? null : values.getFirst();
        }
    }

    /** Parameters every variant reads; the list adds limit and cursor, the stream refuses from and to. */
    static final List<String> NAMES = List.of("from", "to", "direction", "verdict", "address", "port", "protocol",
            "rule", "reason", "instance");

    /**
     * Reads the filters of the list and the export. {@code defaultFrom} replaces an absent {@code from}
     * (a cursor carries the one its first page used, so paging does not slide with the clock).
     */
    public static EventFilter parse(UUID tenant, Params params, Instant now, Instant defaultFrom) {
        List<ApiProblem.FieldError> errors = new ArrayList<>();
        Instant to = instant(params, "to", errors);
        Instant from = instant(params, "from", errors);
        if (to == null) {
            to = now;
        }
        if (from == null) {
            from = defaultFrom != null ? defaultFrom : to.minus(DEFAULT_RANGE);
        }
        if (errors.isEmpty() && !from.isBefore(to)) {
            errors.add(new ApiProblem.FieldError("from", "\"" + from + "\" is not before to (\"" + to
                    + "\"): the range is [from, to), to exclusive"));
        }
        return rest(tenant, params, from, to, errors);
    }

    /** Reads the filters of the live stream, which has no time range (it starts now or at Last-Event-ID). */
    public static EventFilter parseLive(UUID tenant, Params params) {
        List<ApiProblem.FieldError> errors = new ArrayList<>();
        for (String name : List.of("from", "to", "cursor", "limit")) {
            if (!params.all(name).isEmpty()) {
                errors.add(new ApiProblem.FieldError(name, "is not a parameter of the live stream: it delivers events"
                        + " stored from now on (or after Last-Event-ID)"));
            }
        }
        return rest(tenant, params, null, null, errors);
    }

    private static EventFilter rest(UUID tenant, Params params, Instant from, Instant to, List<ApiProblem.FieldError> errors) {
        Set<String> directions = names(params, "direction", DIRECTIONS, errors);
        Set<String> verdicts = names(params, "verdict", VERDICTS, errors);
        String address = address(params.one("address"), errors);
        Integer port = port(params.one("port"), errors);
        Integer protocol = protocol(params.one("protocol"), errors);
        String rule = text(params, "rule", errors);
        if (rule != null && rule.isEmpty()) {
            // Events no tenant rule decided store rule_id '', which the rule index leaves out (V014).
            errors.add(new ApiProblem.FieldError("rule", "is empty: give a rule id (events without one are found by"
                    + " verdict or reason)"));
            rule = null;
        }
        String reason = text(params, "reason", errors);
        UUID instance = null;
        String instanceText = params.one("instance");
        if (instanceText != null) {
            try {
                instance = instanceText.length() == 36 ? UUID.fromString(instanceText) : null;
            } catch (IllegalArgumentException e) {
                instance = null;
            }
            if (instance == null) {
                errors.add(new ApiProblem.FieldError("instance", quote(instanceText) + " is not a UUID"));
            }
        }
        for (String name : NAMES) {
            if (params.all(name).size() > 1 && !name.equals("direction") && !name.equals("verdict")) {
                errors.add(new ApiProblem.FieldError(name, "is given " + params.all(name).size() + " times; give it once"));
            }
        }
        if (!errors.isEmpty()) {
            String detail = errors.size() == 1
                    ? errors.getFirst().path() + ": " + errors.getFirst().message()
                    : errors.size() + " query parameters are invalid";
            throw new ApiProblem(HttpStatus.BAD_REQUEST, "Bad request", detail, errors);
        }
        return new EventFilter(from, to, directions, verdicts, address, port, protocol, rule, reason, instance,
                fingerprint(tenant, params));
    }

    private static Instant instant(Params params, String name, List<ApiProblem.FieldError> errors) {
        String text = params.one(name);
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return java.time.OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException again) {
                errors.add(new ApiProblem.FieldError(name, quote(text)
                        + " is not an ISO-8601 time with a zone, e.g. 2026-11-24T15:00:00Z"));
                return null;
            }
        }
    }

    /** A repeatable parameter whose values may also be comma lists, each one of {@code known}. */
    private static Set<String> names(Params params, String name, Set<String> known, List<ApiProblem.FieldError> errors) {
        Set<String> values = new LinkedHashSet<>();
        for (String given : params.all(name)) {
            for (String value : given.split(",", -1)) {
                String v = value.strip();
                if (known.contains(v)) {
                    values.add(v);
                } else {
                    errors.add(new ApiProblem.FieldError(name, quote(v) + " is not a " + name + " (one of "
                            + String.join(", ", new java.util.TreeSet<>(known)) + ")"));
                }
            }
        }
        return Set.copyOf(values);
    }

    /** An address or CIDR, IPv4 or IPv6, as the canonical block text PostgreSQL reads as {@code cidr}. */
    static String address(String text, List<ApiProblem.FieldError> errors) {
        if (text == null) {
            return null;
        }
        String problem = null;
        IPAddress address = null;
        if (text.isBlank() || text.length() > 64) {
            problem = quote(text) + " is not an IP address or CIDR";
        } else {
            try {
                address = new IPAddressString(text.strip(), STRICT).toAddress();
                if (address.isMultiple() && !address.isPrefixBlock()) {
                    problem = quote(text) + " is not an IP address or CIDR (ranges and wildcards are not accepted)";
                }
            } catch (AddressStringException e) {
                String why = e.getMessage();
                why = why.contains("error: ") ? why.substring(why.indexOf("error: ") + 7) : why;
                problem = quote(text) + " is not an IP address or CIDR (" + why + ")";
            }
        }
        if (problem == null) {
            Integer prefix = address.getNetworkPrefixLength();
            int bits = prefix == null ? address.getBitCount() : prefix;
            IPAddress block = address.toPrefixBlock(bits);
            if (!block.getLower().withoutPrefixLength().equals(address.getLower().withoutPrefixLength())) {
                problem = quote(text) + " has host bits set: did you mean \"" + canonical(block) + "\"?";
            } else {
                return canonical(block);
            }
        }
        errors.add(new ApiProblem.FieldError("address", problem));
        return null;
    }

    private static String canonical(IPAddress block) {
        return block.getLower().withoutPrefixLength().toCanonicalString() + "/" + block.getNetworkPrefixLength();
    }

    private static Integer port(String text, List<ApiProblem.FieldError> errors) {
        if (text == null) {
            return null;
        }
        Integer port = number(text);
        if (port == null || port < 0 || port > 65535) {
            errors.add(new ApiProblem.FieldError("port", quote(text) + " is not a port (a number from 0 to 65535)"));
            return null;
        }
        return port;
    }

    private static Integer protocol(String text, List<ApiProblem.FieldError> errors) {
        if (text == null) {
            return null;
        }
        Integer named = PROTOCOLS.get(text.toLowerCase(Locale.ROOT));
        if (named != null) {
            return named;
        }
        Integer number = number(text);
        if (number == null || number < 0 || number > 255) {
            errors.add(new ApiProblem.FieldError("protocol", quote(text)
                    + " is not a protocol (tcp, udp, icmp, icmpv6 or a number from 0 to 255)"));
            return null;
        }
        return number;
    }

    private static String text(Params params, String name, List<ApiProblem.FieldError> errors) {
        String text = params.one(name);
        if (text == null) {
            return null;
        }
        if (text.length() > MAX_TEXT || text.indexOf('\0') >= 0) {
            errors.add(new ApiProblem.FieldError(name, "is longer than " + MAX_TEXT + " characters or contains NUL"));
            return null;
        }
        return text;
    }

    private static Integer number(String text) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return null;
        }
        return Integer.parseInt(text);
    }

    /** SHA-256 over the tenant and the filter parameters as given (sorted by name), cut to 16 bytes. */
    private static byte[] fingerprint(UUID tenant, Params params) {
        Map<String, List<String>> given = new TreeMap<>();
        for (String name : NAMES) {
            if (!params.all(name).isEmpty()) {
                given.put(name, params.all(name));
            }
        }
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(tenant.toString().getBytes(StandardCharsets.US_ASCII));
            given.forEach((name, values) -> {
                digest.update((byte) 0);
                digest.update(name.getBytes(StandardCharsets.UTF_8));
                for (String value : values) {
                    digest.update((byte) 1);
                    digest.update(value.getBytes(StandardCharsets.UTF_8));
                }
            });
            return java.util.Arrays.copyOf(digest.digest(), 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static String quote(String text) {
        String shown = text.length() > 80 ? text.substring(0, 80) + "…" : text;
        return "\"" + shown + "\"";
    }
}
