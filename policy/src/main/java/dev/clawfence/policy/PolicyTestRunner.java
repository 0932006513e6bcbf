package dev.clawfence.policy;

import java.time.Instant;
import java.util.List;

/**
 * Runs a policy's own {@code tests[]} through the evaluator; each failing assertion becomes an error
 * at {@code tests[i]} that says what was expected and what the policy decided, and why.
 */
public final class PolicyTestRunner {

    private PolicyTestRunner() {}

    public static List<Problem> run(PolicyDocument policy, PlatformRules platform, Instant now) {
        throw new UnsupportedOperationException("in progress");
    }
}
