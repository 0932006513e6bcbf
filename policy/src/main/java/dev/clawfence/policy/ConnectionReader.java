package dev.clawfence.policy;

/**
 * Reads a connection to evaluate from a JSON-shaped tree {@code {direction, from, to, port, proto,
 * country?}} with the same rules and messages as the items of a policy's {@code tests[]}.
 */
public final class ConnectionReader {

    private ConnectionReader() {}

    public static Validated<Connection> read(Object tree) {
        throw new UnsupportedOperationException("in progress");
    }
}
