package dev.clawfence.policy.compile;

/**
 * The platform's rules as sets per family (canonical CIDRs, merged): management ranges accepted inbound,
 * control-plane endpoints accepted outbound, DNS resolvers accepted outbound on tcp and udp port 53.
 */
public record PlatformSets(
        CompiledSet<AddressRange> management4,
        CompiledSet<AddressRange> management6,
        CompiledSet<AddressRange> controlPlane4,
        CompiledSet<AddressRange> controlPlane6,
        CompiledSet<AddressRange> dns4,
        CompiledSet<AddressRange> dns6) {}
