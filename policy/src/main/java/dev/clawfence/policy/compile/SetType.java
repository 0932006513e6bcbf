package dev.clawfence.policy.compile;

/** What the elements of a {@link CompiledSet} are. */
public enum SetType {
    /** {@link AddressRange}s of IPv4. */
    IPV4_ADDRESSES,
    /** {@link AddressRange}s of IPv6. */
    IPV6_ADDRESSES,
    /** {@link dev.clawfence.policy.PortSpec}s: protocol and port range. */
    PORTS,
    /** {@link Box}es of IPv4 addresses. */
    IPV4_BOXES,
    /** {@link Box}es of IPv6 addresses. */
    IPV6_BOXES;

    static SetType addresses(IpFamily family) {
        return family == IpFamily.IPV4 ? IPV4_ADDRESSES : IPV6_ADDRESSES;
    }

    static SetType boxes(IpFamily family) {
        return family == IpFamily.IPV4 ? IPV4_BOXES : IPV6_BOXES;
    }
}
