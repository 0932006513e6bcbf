package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.policy.render.Netns;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent with the real nftables enforcer in a namespace: fail-static restart from the state
 * directory, drift restored by the timer, commit-confirmed rollback, and refused versions.
 */
class AgentIT {

    private static final Agent.Settings FAST = new Agent.Settings(Duration.ofMillis(200), Duration.ofMillis(500));

    @TempDir
    Path state;

    private final List<String> log = new CopyOnWriteArrayList<>();

    @BeforeEach
    void needsNft() {
        Netns.assumeAvailable();
    }

    private Agent agent(Namespaces ns) throws Exception {
        return agent(ns, Clock.systemUTC());
    }

    private Agent agent(Namespaces ns, Clock clock) throws Exception {
        return new Agent(new NftablesEnforcer(CommandRunner.inNamespace(ns.host.name())), new Store(state), FAST, clock, line -> {
            log.add(line);
            System.out.println(line);
        });
    }

    private static String table(Namespaces ns) throws Exception {
        return ns.host.exec(List.of("nft", "-s", "list", "table", "inet", "clawfence")).output();
    }

    @Test
    void aRestartEnforcesTheStoredPolicyBeforeAnythingElse() throws Exception {
        try (Namespaces ns = Namespaces.create()) {
            try (Agent first = agent(ns)) {
                assertThat(first.start().enforcedVersion()).isZero();
                ApplyOutcome outcome = first.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
                assertThat(outcome.outcome()).isEqualTo(ApplyOutcome.Outcome.APPLIED);
            }
            // A reboot: the kernel forgets the table; only the state directory remains.
            Namespaces.run(ns.host, "nft", "delete", "table", "inet", "clawfence");
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("OK");

            try (Agent second = agent(ns)) {
                Agent.StartReport report = second.start();

                assertThat(report.enforcedVersion()).isEqualTo(1);
                assertThat(report.startToEnforced()).isLessThanOrEqualTo(Duration.ofSeconds(1));
                System.out.println("start to enforced: " + report.startToEnforced().toMillis() + " ms");
                assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");
                assertThat(ns.connect("203.0.113.2", 443)).containsExactly("OK");
            }
        }
    }

    /** Two allowlisted peers: 203.0.113.2 until {@code expiry}, 203.0.113.66 for good. */
    private static dev.clawfence.policy.PolicyDocument lapsing(java.time.Instant expiry) {
        java.util.Map<String, java.time.Instant> allowlist = new java.util.LinkedHashMap<>();
        allowlist.put("203.0.113.2/32", expiry);
        allowlist.put("203.0.113.66/32", null);
        return TestPolicies.expiring(allowlist);
    }

    @Test
    void anAgentWithoutAControlPlaneDropsAnAllowlistEntryWhenItLapses() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            List<ApplyOutcome> switches = new CopyOnWriteArrayList<>();
            agent.onLocalApply(switches::add);
            agent.start();
            java.time.Instant now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            java.time.Instant expiry = now.plusSeconds(3);

            // As delivered by the control plane, which is gone from here on: nothing but the agent's timer acts.
            ApplyOutcome applied = agent.offer(TestPolicies.scheduled(1, lapsing(expiry), now), Confirmation.NOT_NEEDED);

            assertThat(applied.outcome()).isEqualTo(ApplyOutcome.Outcome.APPLIED);
            assertThat(table(ns)).contains("203.0.113.2");
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> !table(ns).contains("203.0.113.2"));
            java.time.Instant dropped = java.time.Instant.now();
            System.out.println("lapsed entry dropped " + Duration.between(expiry, dropped).toMillis() + " ms after its expiry");
            assertThat(dropped).isAfterOrEqualTo(expiry);
            assertThat(ns.connect("203.0.113.2", 443)).containsExactly("REFUSED");
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("OK");
            assertThat(switches).singleElement().satisfies(outcome -> {
                assertThat(outcome.version()).isEqualTo(1);
                assertThat(outcome.outcome()).isEqualTo(ApplyOutcome.Outcome.APPLIED);
                assertThat(outcome.rulesetHash()).isNotEqualTo(applied.rulesetHash()).isEqualTo(agent.current().orElseThrow().ruleset().sha256());
            });
            PolicyUpdate stored = new Store(state).lastApplied().value().orElseThrow();
            assertThat(stored.getScheduledList()).isEmpty();
            assertThat(stored.getPolicy().getValidUntilEpochMillis()).isZero();
            assertThat(log).anyMatch(line -> line.contains("allowlist entries lapsed at " + java.time.Instant.ofEpochMilli(expiry.toEpochMilli())));
        }
    }

    @Test
    void aRestartAfterAnExpiryEnforcesTheLapsedCompilationWithoutAControlPlane() throws Exception {
        java.time.Instant t0 = TestPolicies.NOW;
        try (Namespaces ns = Namespaces.create()) {
            try (Agent first = agent(ns, Clock.fixed(t0, java.time.ZoneOffset.UTC))) {
                first.start();
                first.offer(TestPolicies.scheduled(1, lapsing(t0.plus(Duration.ofHours(1))), t0), Confirmation.NOT_NEEDED);
                assertThat(ns.connect("203.0.113.2", 443)).containsExactly("OK");
            }
            // Down (and rebooted: the table is gone) across the expiry; the control plane is unreachable all along.
            Namespaces.run(ns.host, "nft", "delete", "table", "inet", "clawfence");
            assertThat(new Store(state).lastApplied().value().orElseThrow().getScheduledCount()).isEqualTo(1);

            try (Agent second = agent(ns, Clock.fixed(t0.plus(Duration.ofHours(2)), java.time.ZoneOffset.UTC))) {
                Agent.StartReport report = second.start();

                assertThat(report.enforcedVersion()).isEqualTo(1);
                assertThat(ns.connect("203.0.113.2", 443)).containsExactly("REFUSED");
                assertThat(ns.connect("203.0.113.66", 443)).containsExactly("OK");
                assertThat(second.current().orElseThrow().policy().inbound().allowlistActive()).isTrue();
                assertThat(log).anyMatch(line -> line.contains("as scheduled from " + t0.plus(Duration.ofHours(1))));
            }
            assertThat(new Store(state).lastApplied().value().orElseThrow().getScheduledList()).isEmpty();
        }
    }

    @Test
    void aDeletedTableIsRestoredWithinTheCheckInterval() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            List<String> drifts = new CopyOnWriteArrayList<>();
            agent.onDrift((detail, restored) -> drifts.add(detail + (restored ? " (restored)" : "")));
            agent.start();
            agent.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
            String applied = table(ns);

            Namespaces.run(ns.host, "nft", "delete", "table", "inet", "clawfence");

            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).until(() -> table(ns).equals(applied));
            await().atMost(Duration.ofSeconds(1)).until(() -> !drifts.isEmpty());
            assertThat(drifts.getFirst()).contains("missing").endsWith("(restored)");
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");
        }
    }

    @Test
    void anUnconfirmedVersionIsRolledBack() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            agent.start();
            ApplyOutcome first = agent.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
            String applied = table(ns);

            Confirmation never = deadline -> {
                new CountDownLatch(1).await();
                return true;
            };
            ApplyOutcome second = agent.offer(TestPolicies.update(2, TestPolicies.inbound("203.0.113.66/32")), never);

            assertThat(second.outcome()).isEqualTo(ApplyOutcome.Outcome.ROLLED_BACK);
            assertThat(second.reason()).contains("no confirmation").contains("500 ms");
            assertThat(second.rulesetHash()).isEqualTo(first.rulesetHash());
            assertThat(table(ns)).isEqualTo(applied);
            assertThat(agent.current().orElseThrow().version()).isEqualTo(1);
            assertThat(new Store(state).lastApplied().value().orElseThrow().getVersion()).isEqualTo(1);
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");

            ApplyOutcome refused = agent.offer(TestPolicies.update(3, TestPolicies.inbound("203.0.113.66/32")), deadline -> false);
            assertThat(refused.outcome()).isEqualTo(ApplyOutcome.Outcome.ROLLED_BACK);
            assertThat(table(ns)).isEqualTo(applied);
        }
    }

    @Test
    void aFirstVersionThatIsNotConfirmedLeavesNothingBehind() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            agent.start();

            ApplyOutcome outcome = agent.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), deadline -> false);

            assertThat(outcome.outcome()).isEqualTo(ApplyOutcome.Outcome.ROLLED_BACK);
            assertThat(ns.host.exec(List.of("nft", "list", "tables")).output()).doesNotContain("clawfence");
            assertThat(new Store(state).lastApplied().value()).isEmpty();
        }
    }

    @Test
    void aVersionTheKernelRefusesFailsAndThePreviousStays() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            agent.start();
            ApplyOutcome first = agent.offer(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")), Confirmation.NOT_NEEDED);
            String applied = table(ns);

            ApplyOutcome refused = agent.offer(TestPolicies.update(2, TestPolicies.refusedByNft()), Confirmation.NOT_NEEDED);

            assertThat(refused.outcome()).isEqualTo(ApplyOutcome.Outcome.FAILED);
            assertThat(refused.reason()).contains("conflicting intervals");
            assertThat(refused.rulesetHash()).isEqualTo(first.rulesetHash());
            assertThat(table(ns)).isEqualTo(applied);
            assertThat(new Store(state).lastApplied().value().orElseThrow().getVersion()).isEqualTo(1);
        }
    }

    @Test
    void anUpdateWithAForgedSetFails() throws Exception {
        try (Namespaces ns = Namespaces.create(); Agent agent = agent(ns)) {
            agent.start();
            PolicyUpdate good = TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32"));
            PolicyUpdate forged = good.toBuilder().setSets(0, good.getSets(0).toBuilder().setHash("0".repeat(64))).build();

            ApplyOutcome outcome = agent.offer(forged, Confirmation.NOT_NEEDED);

            assertThat(outcome.outcome()).isEqualTo(ApplyOutcome.Outcome.FAILED);
            assertThat(outcome.reason()).contains("malformed");
            assertThat(ns.host.exec(List.of("nft", "list", "tables")).output()).doesNotContain("clawfence");
        }
    }
}
