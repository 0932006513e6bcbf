package dev.clawfence.policy;

/**
 * One port or port range of one protocol, in the Kubernetes convention: {@code port} alone, or
 * {@code port} to {@code endPort} inclusive. Values come validated: {@code 1 <= port <= endPort <=
 * 65535} and never ICMP.
 */
public record PortSpec(Protocol proto, int port, Integer endPort) {

    public PortSpec {
        if (proto == null || !proto.hasPorts()) {
            throw new IllegalArgumentException("a port needs tcp or udp, not " + proto);
        }
        if (port < 1 || port > 65535 || (endPort != null && (endPort < port || endPort > 65535))) {
            throw new IllegalArgumentException("bad port range " + port + "-" + endPort);
        }
    }

    public static PortSpec tcp(int port) {
        return new PortSpec(Protocol.TCP, port, null);
    }

    public static PortSpec udp(int port) {
        return new PortSpec(Protocol.UDP, port, null);
    }

    /** The last port of the range ({@code port} when there is no {@code endPort}). */
    public int last() {
        return endPort == null ? port : endPort;
    }

    /** Whether this range holds {@code port} of {@code protocol}. */
    public boolean covers(Protocol protocol, int candidate) {
        return protocol == proto && candidate >= port && candidate <= last();
    }

    /** The form used in explanations: {@code tcp/443} or {@code tcp/8000-8080}. */
    @Override
    public String toString() {
        return proto.wireName() + "/" + port + (endPort == null ? "" : "-" + endPort);
    }
}
