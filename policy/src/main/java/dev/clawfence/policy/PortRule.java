package dev.clawfence.policy;

/**
 * One open port or port range of a direction ({@code inbound.ports} or {@code outbound.ports}).
 * {@code requestedBy} is optional; {@code id} is null only before the first save.
 */
public record PortRule(String id, PortSpec spec, String description, String requestedBy, Provenance provenance) {

    public PortRule {
        if (spec == null) {
            throw new IllegalArgumentException("a port rule needs a port");
        }
        provenance = provenance == null ? Provenance.NONE : provenance;
    }

    /** The rule every new policy opens in both directions: tcp/443. */
    public static PortRule https() {
        return new PortRule(null, PortSpec.tcp(443), "HTTPS", null, Provenance.NONE);
    }

    public PortRule withId(String newId) {
        return new PortRule(newId, spec, description, requestedBy, provenance);
    }

    public PortRule withProvenance(Provenance newProvenance) {
        return new PortRule(id, spec, description, requestedBy, newProvenance);
    }
}
