package dev.clawfence.policy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A new connection attempt to evaluate, already parsed and validated by {@link ConnectionReader}:
 * {@code from} is an address (null allowed outbound, where the host's own address decides nothing),
 * {@code to} is an address or, outbound, a host name (null allowed inbound), {@code port} is 0 exactly
 * for ICMP echo, {@code country} is the upper-case ISO-3166 alpha-2 code of the source when known, else
 * null.
 */
public record Connection(Direction direction, Host from, Host to, int port, Protocol proto, String country) {

    /** Guards the shape {@link ConnectionReader} guarantees, for connections built by hand. */
    public Connection {
        if (direction == null || proto == null) {
            throw new IllegalArgumentException("a connection needs a direction and a protocol");
        }
        if ((direction == Direction.INBOUND ? from : to) == null) {
            throw new IllegalArgumentException(direction == Direction.INBOUND ? "an inbound connection needs from" : "an outbound connection needs to");
        }
        if (from != null && from.isDomain()) {
            throw new IllegalArgumentException("from is an address, not a name");
        }
        if (proto.hasPorts() ? port < 1 || port > 65535 : port != 0) {
            throw new IllegalArgumentException("port " + port + " does not fit " + proto.wireName());
        }
    }

    /** An inbound attempt from {@code from}; {@code port} is ignored for ICMP. Throws on invalid input. */
    public static Connection inbound(String from, int port, Protocol proto) {
        return of(Direction.INBOUND, from, null, port, proto, null);
    }

    /** An outbound attempt to {@code to} (an address or a host name). Throws on invalid input. */
    public static Connection outbound(String to, int port, Protocol proto) {
        return of(Direction.OUTBOUND, null, to, port, proto, null);
    }

    /**
     * A connection from loose values, read with exactly the rules of {@link ConnectionReader}.
     *
     * @throws IllegalArgumentException naming every problem when the values are not a valid connection
     */
    public static Connection of(Direction direction, String from, String to, int port, Protocol proto, String country) {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("direction", direction.wireName());
        if (from != null) {
            tree.put("from", from);
        }
        if (to != null) {
            tree.put("to", to);
        }
        if (proto.hasPorts()) {
            tree.put("port", port);
        }
        tree.put("proto", proto.wireName());
        if (country != null) {
            tree.put("country", country);
        }
        Validated<Connection> read = ConnectionReader.read(tree);
        if (!read.isValid()) {
            throw new IllegalArgumentException(read.errors().stream().map(Problem::toString).collect(Collectors.joining("; ")));
        }
        return read.value();
    }

    /** The same attempt with the source's country set (null for unknown). */
    public Connection withCountry(String newCountry) {
        return of(direction, from == null ? null : from.toString(), to == null ? null : to.toString(), port, proto, newCountry);
    }

    /** The end the policy decides on: the source inbound, the destination outbound. */
    public Host peer() {
        return direction == Direction.INBOUND ? from : to;
    }
}
