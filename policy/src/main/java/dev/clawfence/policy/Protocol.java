package dev.clawfence.policy;

/**
 * The transport of a connection attempt. {@link #ICMP} stands for ICMP echo (ICMPv6 echo on IPv6):
 * it carries no port, so port lists never apply to it.
 */
public enum Protocol {
    TCP("tcp"),
    UDP("udp"),
    ICMP("icmp");

    private final String wireName;

    Protocol(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON. */
    public String wireName() {
        return wireName;
    }

    /** Whether connections of this protocol carry a port. */
    public boolean hasPorts() {
        return this != ICMP;
    }
}
