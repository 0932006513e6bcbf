package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static dev.clawfence.policy.PolicyTree.allow;
import static dev.clawfence.policy.PolicyTree.policy;
import static dev.clawfence.policy.PolicyTree.test;
import static dev.clawfence.policy.PolicyTree.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyTestRunnerTest {

    @Test
    void reportsAFailingAssertionWithItsIndexExpectationAndDecision() {
        PolicyDocument document = policy().inboundMode("enforce")
                .allowlist(with(allow("203.0.113.0/24"), "id", "in-office"))
                .tests(test("inbound", "203.0.113.9", null, 443, "tcp", "allowed"),
                        test("inbound", "198.51.100.1", null, 443, "tcp", "allowed"),
                        test("inbound", "198.51.100.1", "192.0.2.10", 22, "tcp", "blocked"))
                .document();

        List<Problem> problems = PolicyTestRunner.run(document, PlatformRules.NONE, NOW);

        assertThat(problems).hasSize(1);
        Problem problem = problems.get(0);
        assertThat(problem.path()).isEqualTo("tests[1]");
        assertThat(problem.severity()).isEqualTo(Problem.Severity.ERROR);
        assertThat(problem.message()).startsWith("inbound tcp/443 from 198.51.100.1: expected allowed, but the policy decided blocked (reason not-allowlisted)");
    }

    @Test
    void namesTheDecidingRuleOfAnUnexpectedAllow() {
        PolicyDocument document = policy().inboundMode("enforce")
                .allowlist(with(allow("203.0.113.0/24"), "id", "in-office"))
                .tests(test("inbound", "203.0.113.9", null, 443, "tcp", "blocked"))
                .document();

        assertThat(PolicyTestRunner.run(document, PlatformRules.NONE, NOW)).singleElement()
                .extracting(Problem::message).asString()
                .contains("expected blocked, but the policy decided allowed (reason allowlisted, rule in-office)");
    }

    @Test
    void wouldBlockSatisfiesBlockedButNotAllowed() {
        PolicyDocument document = policy().inboundMode("monitor")
                .allowlist(allow("203.0.113.0/24"))
                .tests(test("inbound", "198.51.100.1", null, 443, "tcp", "blocked"),
                        test("inbound", "198.51.100.1", null, 443, "tcp", "allowed"))
                .document();

        assertThat(PolicyTestRunner.run(document, PlatformRules.NONE, NOW)).extracting(Problem::path).containsExactly("tests[1]");
    }

    @Test
    void runsOutboundTestsWithNamesAndIcmp() {
        PolicyDocument document = policy().outboundMode("enforce").defaultAction("deny")
                .destinations(PolicyTree.to("*.example.com"))
                .tests(test("outbound", null, "api.example.com", 443, "tcp", "allowed"),
                        test("outbound", null, "example.org", 443, "tcp", "blocked"),
                        test("outbound", null, "198.51.100.1", null, "icmp", "blocked"))
                .document();

        assertThat(PolicyTestRunner.run(document, PlatformRules.NONE, NOW)).isEmpty();
    }

    @Test
    void aPolicyWithoutTestsPasses() {
        assertThat(PolicyTestRunner.run(PolicyDocument.defaultPolicy(), PlatformRules.NONE, NOW)).isEmpty();
    }
}
