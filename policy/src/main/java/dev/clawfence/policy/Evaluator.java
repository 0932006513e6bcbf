package dev.clawfence.policy;

import java.time.Instant;

/**
 * Decides one connection exactly per DESIGN.md's inbound and outbound decision procedures. Built once
 * per policy version; {@link #evaluate} is allocation-light and thread-safe.
 */
public final class Evaluator {

    private Evaluator() {}

    public static Evaluator compile(PolicyDocument policy, PlatformRules platform) {
        throw new UnsupportedOperationException("in progress");
    }

    /** {@code now} decides whether an allowlist entry has expired. */
    public Decision evaluate(Connection connection, Instant now) {
        throw new UnsupportedOperationException("in progress");
    }
}
