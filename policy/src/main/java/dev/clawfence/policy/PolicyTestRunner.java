package dev.clawfence.policy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a policy's own {@code tests[]} through the evaluator; each failing assertion becomes an error
 * at {@code tests[i]} that says what was expected and what the policy decided, and why.
 *
 * <p>{@code blocked} is satisfied by {@code blocked} and by {@code would-block}: tests check what the
 * rules decide, and monitor mode only changes whether that decision is applied. {@code allowed} is
 * satisfied only by {@code allowed}.
 */
public final class PolicyTestRunner {

    private PolicyTestRunner() {}

    public static List<Problem> run(PolicyDocument policy, PlatformRules platform, Instant now) {
        if (policy.tests().isEmpty()) {
            return List.of();
        }
        Evaluator evaluator = Evaluator.compile(policy, platform);
        List<Problem> problems = new ArrayList<>();
        for (int i = 0; i < policy.tests().size(); i++) {
            PolicyTest test = policy.tests().get(i);
            Decision decision = evaluator.evaluate(test.connection(), now);
            boolean blocked = decision.verdict() != Verdict.ALLOWED;
            boolean passed = test.expect() == Verdict.BLOCKED ? blocked : !blocked;
            if (!passed) {
                problems.add(Problem.error("tests[" + i + "]", describe(test.connection()) + ": expected " + test.expect().wireName()
                        + ", but the policy decided " + decision.verdict().wireName() + " (reason " + decision.reason().wireName()
                        + (decision.ruleId() == null ? "" : ", rule " + decision.ruleId()) + "): " + decision.explanation()));
            }
        }
        return problems;
    }

    private static String describe(Connection c) {
        String port = c.proto().hasPorts() ? c.proto().wireName() + "/" + c.port() : "icmp";
        if (c.direction() == Direction.INBOUND) {
            return "inbound " + port + " from " + c.from() + (c.to() == null ? "" : " to " + c.to());
        }
        return "outbound " + port + " to " + c.to() + (c.from() == null ? "" : " from " + c.from());
    }
}
