package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's expiry schedule with the dry-run enforcer (no root needed): which compilation an update
 * is enforced as, the switches at each step without any control plane, and what ends a schedule.
 * {@link AgentIT} shows the same against the kernel.
 */
class AgentScheduleTest {

    private static final Agent.Settings SETTINGS = new Agent.Settings(Duration.ofMinutes(10), Duration.ofSeconds(5));

    @TempDir
    Path state;

    private final List<String> log = new CopyOnWriteArrayList<>();
    private final List<ApplyOutcome> switches = new CopyOnWriteArrayList<>();

    private Agent agent(Clock clock) throws Exception {
        Agent agent = new Agent(new DryRunEnforcer(log::add), new Store(state), SETTINGS, clock, log::add);
        agent.onLocalApply(switches::add);
        return agent;
    }

    /** 203.0.113.2 until {@code first}, 203.0.113.66 until {@code second}, 198.51.100.0/24 for good. */
    private static PolicyDocument twoLapsing(Instant first, Instant second) {
        Map<String, Instant> allowlist = new LinkedHashMap<>();
        allowlist.put("203.0.113.2/32", first);
        allowlist.put("203.0.113.66/32", second);
        allowlist.put("198.51.100.0/24", null);
        return TestPolicies.expiring(allowlist);
    }

    private static dev.clawfence.policy.compile.CompiledPolicy compile(PolicyDocument document, Instant at) {
        return PolicyCompiler.compile(document, PlatformRules.NONE, CountryRanges.NONE, at);
    }

    @Test
    void anUpdateIsEnforcedAsTheStepInForceWhenItArrives() throws Exception {
        Instant t0 = TestPolicies.NOW;
        PolicyDocument document = twoLapsing(t0.plus(Duration.ofHours(1)), t0.plus(Duration.ofHours(2)));
        Instant arrival = t0.plus(Duration.ofMinutes(90));
        try (Agent agent = agent(Clock.fixed(arrival, ZoneOffset.UTC))) {
            agent.start();

            ApplyOutcome outcome = agent.offer(TestPolicies.scheduled(3, document, t0), Confirmation.NOT_NEEDED);

            assertThat(outcome.outcome()).isEqualTo(ApplyOutcome.Outcome.APPLIED);
            assertThat(agent.current().orElseThrow().policy()).isEqualTo(compile(document, arrival));
            PolicyUpdate stored = new Store(state).lastApplied().value().orElseThrow();
            assertThat(stored.getScheduledCount()).isEqualTo(1);
            assertThat(PolicyWire.toDomain(stored)).isEqualTo(compile(document, arrival));
            assertThat(switches).isEmpty();
        }
    }

    @Test
    void eachStepIsTakenAtItsInstantAndReportedAsAppliedForTheSameVersion() throws Exception {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        PolicyDocument document = twoLapsing(now.plusMillis(1000), now.plusMillis(2000));
        List<Instant> seen = new CopyOnWriteArrayList<>();
        try (Agent agent = agent(Clock.systemUTC())) {
            agent.onLocalApply(outcome -> {
                seen.add(Instant.now());
                switches.add(outcome);
            });
            agent.start();
            ApplyOutcome applied = agent.offer(TestPolicies.scheduled(5, document, now), Confirmation.NOT_NEEDED);

            await().atMost(Duration.ofSeconds(5)).until(() -> switches.size() >= 2);

            assertThat(switches).extracting(ApplyOutcome::version).containsExactly(5L, 5L);
            assertThat(switches).extracting(ApplyOutcome::outcome).containsOnly(ApplyOutcome.Outcome.APPLIED);
            assertThat(List.of(applied.rulesetHash(), switches.get(0).rulesetHash(), switches.get(1).rulesetHash())).doesNotHaveDuplicates();
            assertThat(seen.get(0)).isAfterOrEqualTo(Instant.ofEpochMilli(now.plusMillis(1000).toEpochMilli()));
            assertThat(seen.get(1)).isAfterOrEqualTo(Instant.ofEpochMilli(now.plusMillis(2000).toEpochMilli()));
            assertThat(agent.current().orElseThrow().policy()).isEqualTo(compile(document, now.plusMillis(2000)));
            assertThat(new Store(state).lastApplied().value().orElseThrow().getScheduledList()).isEmpty();
        }
    }

    @Test
    void aNewVersionReplacesTheScheduleOfTheOldOne() throws Exception {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        try (Agent agent = agent(Clock.systemUTC())) {
            agent.start();
            agent.offer(TestPolicies.scheduled(1, twoLapsing(now.plusMillis(1500), now.plusMillis(2000)), now), Confirmation.NOT_NEEDED);
            agent.offer(TestPolicies.scheduled(2, twoLapsing(null, null), now), Confirmation.NOT_NEEDED);

            // Past both of version 1's instants: no switch may come.
            await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).until(switches::isEmpty);
            assertThat(agent.current().orElseThrow().version()).isEqualTo(2);
            assertThat(agent.current().orElseThrow().policy().inbound().allowAddresses4().elements()).hasSize(3);
        }
    }

    @Test
    void whenTheScheduleRunsOutTheAgentKeepsEnforcingAndSaysSo() throws Exception {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        PolicyDocument document = twoLapsing(now.plusMillis(300), now.plusMillis(600));
        // Cut to one step, as the control plane cuts a schedule at its limit, horizon or size budget.
        PolicyUpdate update = PolicyWire.toWire(4, compile(document, now),
                PolicyCompiler.schedule(document, PlatformRules.NONE, CountryRanges.NONE, now, 1, now.plusSeconds(60)));
        try (Agent agent = agent(Clock.systemUTC())) {
            agent.start();
            agent.offer(update, Confirmation.NOT_NEEDED);

            await().atMost(Duration.ofSeconds(5)).until(() -> log.stream().anyMatch(line -> line.contains("ran out")));

            assertThat(agent.current().orElseThrow().policy()).isEqualTo(compile(document, now.plusMillis(300)));
            assertThat(agent.current().orElseThrow().policy().validUntil()).isEqualTo(now.plusMillis(600));
            assertThat(log).anyMatch(line -> line.startsWith("warning: the schedule of policy version 4 ran out at "
                    + Instant.ofEpochMilli(now.plusMillis(600).toEpochMilli())));
        }
    }
}
