package dev.clawfence.policy;

import java.time.Instant;
import java.util.List;

/**
 * One inbound allowlist rule: sources inside {@code cidr} may connect on {@code ports} (every port
 * when the list is empty) until {@code expiresAt} (never when null). {@code cidr} is canonical
 * ({@code 203.0.113.0/24}, {@code 2001:db8::/32}, single addresses as /32 or /128). {@code id} is null
 * only before the first save ({@link RuleStamper} assigns it).
 */
public record AllowlistEntry(
        String id,
        String cidr,
        List<PortSpec> ports,
        String description,
        String requestedBy,
        Instant expiresAt,
        Provenance provenance) {

    public AllowlistEntry {
        ports = List.copyOf(ports);
        provenance = provenance == null ? Provenance.NONE : provenance;
    }

    /** Whether this entry has stopped matching at {@code now}: it expires at its {@code expiresAt}. */
    public boolean isExpired(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }

    public AllowlistEntry withId(String newId) {
        return new AllowlistEntry(newId, cidr, ports, description, requestedBy, expiresAt, provenance);
    }

    public AllowlistEntry withProvenance(Provenance newProvenance) {
        return new AllowlistEntry(id, cidr, ports, description, requestedBy, expiresAt, newProvenance);
    }
}
