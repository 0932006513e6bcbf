package dev.clawfence.policy.compile;

/** The address family of a set: IPv4 or IPv6. */
public enum IpFamily {
    IPV4,
    IPV6
}
