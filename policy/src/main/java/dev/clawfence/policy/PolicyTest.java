package dev.clawfence.policy;

/**
 * One assertion a policy makes about itself: evaluating {@code connection} must give {@code expect},
 * which is {@link Verdict#ALLOWED} or {@link Verdict#BLOCKED} (a {@code would-block} in monitor mode
 * satisfies {@code blocked}: tests check what the rules decide, the mode only decides whether that is
 * applied).
 */
public record PolicyTest(Connection connection, Verdict expect) {

    public PolicyTest {
        if (expect == Verdict.WOULD_BLOCK) {
            throw new IllegalArgumentException("a test expects allowed or blocked");
        }
    }
}
