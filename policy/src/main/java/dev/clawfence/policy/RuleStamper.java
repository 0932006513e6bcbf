package dev.clawfence.policy;

import java.time.Instant;

/**
 * Gives every rule of a document being saved its identity: a new stable id where it has none,
 * {@code createdBy}/{@code createdAt} kept from the previous version for known ids, {@code updatedAt}
 * moved only when the rule's content changed.
 */
public final class RuleStamper {

    private RuleStamper() {}

    /** {@code previous} is the current version's document, or null for a tenant's first save. */
    public static PolicyDocument stamp(PolicyDocument incoming, PolicyDocument previous, String actor, Instant now) {
        throw new UnsupportedOperationException("in progress");
    }
}
