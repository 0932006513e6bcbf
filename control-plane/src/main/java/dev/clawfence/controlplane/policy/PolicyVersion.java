package dev.clawfence.controlplane.policy;

import dev.clawfence.policy.PolicyDocument;
import java.time.Instant;

/** One saved, immutable version of a tenant's policy and who saved it, when, why. */
public record PolicyVersion(
        int version,
        String author,
        String authorId,
        String message,
        Instant createdAt,
        String contentHash,
        PolicyDocument document) {}
