package dev.clawfence.policy;

import java.util.List;
import java.util.Map;

/**
 * Reads a connection to evaluate from a JSON-shaped tree {@code {direction, from, to, port, proto,
 * country?}} with the same rules and messages as the items of a policy's {@code tests[]}.
 *
 * <p>{@code from} is required inbound and {@code to} outbound; the other end is optional (an outbound
 * decision never depends on the host's own address). Addresses are single IP addresses; outbound
 * {@code to} may be a host name. Both ends, when both are addresses, are of one family. {@code port}
 * (1-65535) is required for tcp and udp and forbidden for icmp (ICMP echo has no port).
 * {@code country} is the source's ISO-3166 alpha-2 code, upper-cased.
 */
public final class ConnectionReader {

    static final List<String> FIELDS = List.of("direction", "from", "to", "port", "proto", "country");

    private ConnectionReader() {}

    public static Validated<Connection> read(Object tree) {
        TreeReader reader = new TreeReader();
        Map<String, Object> object = reader.object(tree, "", FIELDS);
        Connection connection = object == null ? null : read(reader, object, "");
        return new Validated<>(reader.hasErrors() ? null : connection, reader.problems());
    }

    /**
     * Reads the connection fields of {@code object} (whose unknown fields the caller has already
     * checked), recording problems under {@code path}; null when any field is wrong.
     */
    static Connection read(TreeReader reader, Map<String, Object> object, String path) {
        int errorsBefore = reader.errorCount();
        Direction direction = null;
        if (reader.present(object, "direction", path)) {
            direction = reader.choice(object.get("direction"), TreeReader.field(path, "direction"), Direction.values(), Direction::wireName);
        }
        Protocol proto = null;
        if (reader.present(object, "proto", path)) {
            proto = reader.choice(object.get("proto"), TreeReader.field(path, "proto"), Protocol.values(), Protocol::wireName);
        }
        Host from = null;
        if (object.get("from") != null) {
            from = host(reader, object.get("from"), TreeReader.field(path, "from"), false);
        } else if (direction == Direction.INBOUND) {
            reader.error(TreeReader.field(path, "from"), "is required for an inbound connection");
        }
        Host to = null;
        if (object.get("to") != null) {
            to = host(reader, object.get("to"), TreeReader.field(path, "to"), direction == Direction.OUTBOUND);
        } else if (direction == Direction.OUTBOUND) {
            reader.error(TreeReader.field(path, "to"), "is required for an outbound connection");
        }
        if (from != null && to != null && !to.isDomain() && from.isIPv4() != to.isIPv4()) {
            reader.error(TreeReader.field(path, "to"), AddressSyntax.quote(to.toString()) + " is " + family(to) + " but from "
                    + AddressSyntax.quote(from.toString()) + " is " + family(from) + "; a connection stays within one address family");
        }
        int port = 0;
        String portPath = TreeReader.field(path, "port");
        if (proto != null && !proto.hasPorts() && object.get("port") != null) {
            reader.error(portPath, "icmp has no ports: remove \"port\" (ICMP echo is never subject to port rules)");
        } else if (proto != null && proto.hasPorts()) {
            if (reader.present(object, "port", path)) {
                Integer value = reader.wholeNumber(object.get("port"), portPath);
                if (value != null && (value < 1 || value > 65535)) {
                    reader.error(portPath, "port " + value + " is outside 1-65535");
                } else if (value != null) {
                    port = value;
                }
            }
        }
        String country = null;
        if (object.get("country") != null) {
            country = CountryCode.read(reader, object.get("country"), TreeReader.field(path, "country"));
        }
        if (reader.errorCount() > errorsBefore) {
            return null;
        }
        return new Connection(direction, from, to, port, proto, country);
    }

    private static Host host(TreeReader reader, Object value, String path, boolean nameAllowed) {
        String text = reader.text(value, path, DomainName.MAX_INPUT);
        if (text == null) {
            return null;
        }
        AddressSyntax.Parsed address = AddressSyntax.address(text);
        if (address.isValid()) {
            return Host.ofAddress(address.value());
        }
        boolean looksLikeName = text.indexOf(':') < 0 && text.indexOf('/') < 0 && !text.chars().allMatch(c -> c == '.' || Character.isDigit(c));
        if (nameAllowed && looksLikeName) {
            DomainName.Parsed name = DomainName.parse(text, false);
            if (name.error() == null) {
                return Host.ofDomain(name.value());
            }
            reader.error(path, name.error());
            return null;
        }
        reader.error(path, address.error());
        return null;
    }

    private static String family(Host host) {
        return host.isIPv4() ? "IPv4" : "IPv6";
    }
}
