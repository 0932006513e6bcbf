package dev.clawfence.policy.compile;

import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.PortSpec;
import java.util.List;

/**
 * The outbound half of a compiled policy.
 *
 * @param openPorts {@code outbound.ports}, merged
 * @param destinations4 disjoint boxes: for each address, the union of what the CIDR destination entries
 *     covering it open (an entry's own ports, or {@code openPorts} when it has none)
 * @param destinationAddresses4 every address of a CIDR destination entry, merged (ICMP echo)
 * @param domains the name entries, sorted by name (exact before wildcard), for the agent to resolve
 * @param defaultAction what happens to a connection no entry allows on an open port
 */
public record CompiledOutbound(
        CompiledSet<PortSpec> openPorts,
        CompiledSet<Box> destinations4,
        CompiledSet<Box> destinations6,
        CompiledSet<AddressRange> destinationAddresses4,
        CompiledSet<AddressRange> destinationAddresses6,
        List<DomainEntry> domains,
        DefaultAction defaultAction) {

    public CompiledOutbound {
        domains = List.copyOf(domains);
    }
}
