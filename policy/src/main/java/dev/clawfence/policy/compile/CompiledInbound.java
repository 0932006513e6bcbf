package dev.clawfence.policy.compile;

import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.PortSpec;

/**
 * The inbound half of a compiled policy, in the order of the inbound decision.
 *
 * @param openPorts {@code inbound.ports}, merged (step 3)
 * @param allow4 disjoint boxes: for each address, the union of the ports of the unexpired allowlist
 *     entries covering it (an entry without ports covers all ports); tcp/udp only (step 4)
 * @param allowAddresses4 every address of an unexpired entry, merged: what ICMP echo matches (step 4)
 * @param allowlistActive whether any entry is unexpired (step 5)
 * @param geoMode the geo rule (step 6)
 * @param geo4 the merged blocks of the listed countries; empty unless {@code geoMode} is allow or block
 */
public record CompiledInbound(
        CompiledSet<PortSpec> openPorts,
        CompiledSet<Box> allow4,
        CompiledSet<Box> allow6,
        CompiledSet<AddressRange> allowAddresses4,
        CompiledSet<AddressRange> allowAddresses6,
        boolean allowlistActive,
        GeoMode geoMode,
        CompiledSet<AddressRange> geo4,
        CompiledSet<AddressRange> geo6) {}
