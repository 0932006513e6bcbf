package dev.clawfence.policy;

import java.util.List;

/** The inbound half of a policy: the allowlist, the open ports and the country rule. */
public record Inbound(List<AllowlistEntry> allowlist, List<PortRule> ports, Geo geo) {

    public Inbound {
        allowlist = List.copyOf(allowlist);
        ports = List.copyOf(ports);
    }
}
