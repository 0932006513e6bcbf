package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.agent.state.Store;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which rolled-back version the agent tries again, and after how long (no kernel: the dry-run enforcer). */
class AgentRetryTest {

    @TempDir
    Path state;

    private Agent agent() throws Exception {
        return new Agent(new DryRunEnforcer(line -> {}), new Store(state), new Agent.Settings(Duration.ofHours(1), Duration.ofSeconds(20)),
                Clock.systemUTC(), line -> {});
    }

    @ParameterizedTest
    @CsvSource({"1, PT20S", "2, PT40S", "3, PT80S", "5, PT5M20S", "8, PT42M40S", "9, PT1H", "1000, PT1H"})
    void theHoldOffStartsAtTheConfirmDeadlineAndDoublesUpToAnHour(int rollbacks, Duration holdOff) throws Exception {
        try (Agent agent = agent()) {
            assertThat(agent.holdOff(rollbacks)).isEqualTo(holdOff);
        }
    }

    @Test
    void aRollbackIsRememberedCountedAndForgottenOnceAnythingElseHappens() throws Exception {
        try (Agent agent = agent()) {
            agent.start();
            agent.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
            assertThat(agent.retry()).isEmpty();

            agent.offer(TestPolicies.update(2, TestPolicies.inbound("203.0.113.66/32")), deadline -> false);
            Agent.Retry first = agent.retry().orElseThrow();
            assertThat(first.version()).isEqualTo(2);
            assertThat(first.rollbacks()).isEqualTo(1);
            assertThat(first.holdOff()).isEqualTo(Duration.ofSeconds(20));
            assertThat(first.reason()).contains("did not confirm");

            agent.offer(first.update(), deadline -> false);
            assertThat(agent.retry().orElseThrow().rollbacks()).isEqualTo(2);
            assertThat(agent.retry().orElseThrow().holdOff()).isEqualTo(Duration.ofSeconds(40));

            // Another version rolled back starts its own count; one that goes in ends the retry.
            agent.offer(TestPolicies.update(3, TestPolicies.inbound("203.0.113.67/32")), deadline -> false);
            assertThat(agent.retry().orElseThrow().version()).isEqualTo(3);
            assertThat(agent.retry().orElseThrow().rollbacks()).isEqualTo(1);
            agent.offer(TestPolicies.update(4, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
            assertThat(agent.retry()).isEmpty();
            assertThat(agent.current().orElseThrow().version()).isEqualTo(4);
        }
    }
}
