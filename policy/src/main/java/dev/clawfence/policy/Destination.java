package dev.clawfence.policy;

import java.util.List;

/**
 * One outbound destination rule: exactly one of {@code cidr} (canonical) or {@code domain} (lower-case
 * ASCII, IDN as punycode; a leading {@code *.} matches every name below the domain but not the domain
 * itself) names where the host may connect; {@code ports} restrict the ports (when empty, the
 * policy's {@code outbound.ports} apply). {@code id} is null only before the first save.
 */
public record Destination(
        String id,
        String cidr,
        String domain,
        List<PortSpec> ports,
        String description,
        String requestedBy,
        Provenance provenance) {

    public Destination {
        if ((cidr == null) == (domain == null)) {
            throw new IllegalArgumentException("a destination has exactly one of cidr and domain");
        }
        ports = List.copyOf(ports);
        provenance = provenance == null ? Provenance.NONE : provenance;
    }

    /** The cidr or the domain, whichever this entry has. */
    public String target() {
        return cidr != null ? cidr : domain;
    }

    public Destination withId(String newId) {
        return new Destination(newId, cidr, domain, ports, description, requestedBy, provenance);
    }

    public Destination withProvenance(Provenance newProvenance) {
        return new Destination(id, cidr, domain, ports, description, requestedBy, newProvenance);
    }
}
