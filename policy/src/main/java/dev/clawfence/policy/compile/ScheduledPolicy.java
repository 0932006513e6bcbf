package dev.clawfence.policy.compile;

import java.time.Instant;

/**
 * One step of a policy's expiry schedule: the same document compiled as it is in force from
 * {@code effectiveFrom} (an allowlist expiry instant) until {@code policy.validUntil()}.
 */
public record ScheduledPolicy(Instant effectiveFrom, CompiledPolicy policy) {

    public ScheduledPolicy {
        if (effectiveFrom == null || policy == null) {
            throw new IllegalArgumentException("a scheduled policy needs an instant and a compiled policy");
        }
    }
}
