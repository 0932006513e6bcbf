package dev.clawfence.policy;

import java.util.List;

/** The outbound half of a policy: the named destinations, the open ports and the default action. */
public record Outbound(List<Destination> destinations, List<PortRule> ports, DefaultAction defaultAction) {

    public Outbound {
        destinations = List.copyOf(destinations);
        ports = List.copyOf(ports);
    }
}
