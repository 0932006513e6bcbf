package dev.clawfence.policy;

import java.time.Instant;

/**
 * Who created a rule and when it was created and last changed; set by {@link RuleStamper} when a
 * document is saved, and carried through reading and writing unchanged. Any component may be null for
 * a rule that has never been saved.
 */
public record Provenance(String createdBy, Instant createdAt, Instant updatedAt) {

    /** The provenance of a rule that has never been saved. */
    public static final Provenance NONE = new Provenance(null, null, null);
}
