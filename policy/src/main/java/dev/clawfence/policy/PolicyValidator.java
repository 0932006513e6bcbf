package dev.clawfence.policy;

import java.time.Instant;

/**
 * Reads a policy document from a JSON-shaped tree (what any JSON parser produces: {@code Map<String,
 * Object>}, {@code List<Object>}, {@code String}, {@code Number}, {@code Boolean}, {@code null}),
 * validates it and normalises it (canonical CIDRs, lower-case domains). Reports every problem at once,
 * each with its JSON path; unknown fields are errors.
 */
public final class PolicyValidator {

    private PolicyValidator() {}

    /** {@code now} decides whether an {@code expiresAt} lies in the past. */
    public static Validated<PolicyDocument> validate(Object tree, Instant now) {
        throw new UnsupportedOperationException("in progress");
    }
}
