package dev.clawfence.policy.compile;

import static dev.clawfence.policy.compile.PolicyCompilerTest.allow;
import static dev.clawfence.policy.compile.PolicyCompilerTest.allowUntil;
import static dev.clawfence.policy.compile.PolicyCompilerTest.inbound;
import static dev.clawfence.policy.compile.PolicyCompilerTest.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.render.RandomPolicies;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** {@link PolicyCompiler#schedule}: what an agent switches to, offline, as allowlist entries lapse. */
class PolicyScheduleTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
    private static final Instant FAR = NOW.plus(Duration.ofDays(7));
    private static final PlatformRules PLATFORM = new PlatformRules(List.of("192.0.2.0/28"), List.of("192.0.2.100"), List.of("192.0.2.53"));

    private static List<ScheduledPolicy> schedule(PolicyDocument document, int limit, Instant horizon) {
        return PolicyCompiler.schedule(document, PLATFORM, CountryRanges.NONE, NOW, limit, horizon);
    }

    private static CompiledPolicy compile(PolicyDocument document, Instant at) {
        return PolicyCompiler.compile(document, PLATFORM, CountryRanges.NONE, at);
    }

    @Test
    void oneStepPerDistinctFutureExpiryInAscendingOrder() {
        PolicyDocument document = inbound(List.of(tcp(443)),
                allowUntil("203.0.113.10/32", NOW.plusSeconds(7200)),
                allowUntil("203.0.113.20/32", NOW.minusSeconds(5)),
                allowUntil("203.0.113.30/32", NOW.plusSeconds(3600)),
                allowUntil("203.0.113.40/32", NOW.plusSeconds(7200)),
                allowUntil("203.0.113.50/32", NOW),
                allow("203.0.113.64/26"));

        List<ScheduledPolicy> steps = schedule(document, 64, FAR);

        assertThat(steps).extracting(ScheduledPolicy::effectiveFrom).containsExactly(NOW.plusSeconds(3600), NOW.plusSeconds(7200));
        assertThat(PolicyCompilerTest.texts(steps.get(0).policy().inbound().allowAddresses4()))
                .containsExactly("203.0.113.10/32", "203.0.113.40/32", "203.0.113.64/26");
        assertThat(steps.get(0).policy().validUntil()).isEqualTo(NOW.plusSeconds(7200));
        assertThat(PolicyCompilerTest.texts(steps.get(1).policy().inbound().allowAddresses4())).containsExactly("203.0.113.64/26");
        assertThat(steps.get(1).policy().validUntil()).isNull();
        // What does not depend on time is shared, so its sets keep their hashes (and travel once).
        CompiledPolicy main = compile(document, NOW);
        assertThat(steps.get(1).policy().platform()).isEqualTo(main.platform());
        assertThat(steps.get(1).policy().outbound()).isEqualTo(main.outbound());
    }

    @Test
    void aLimitOrAHorizonCutsTheScheduleAndTheLastStepSaysWhenItRunsOut() {
        PolicyDocument document = inbound(List.of(tcp(443)),
                allowUntil("203.0.113.10/32", NOW.plusSeconds(10)),
                allowUntil("203.0.113.20/32", NOW.plusSeconds(20)),
                allowUntil("203.0.113.30/32", NOW.plusSeconds(30)));

        assertThat(schedule(document, 2, FAR)).extracting(ScheduledPolicy::effectiveFrom)
                .containsExactly(NOW.plusSeconds(10), NOW.plusSeconds(20));
        assertThat(schedule(document, 2, FAR).getLast().policy().validUntil()).isEqualTo(NOW.plusSeconds(30));
        assertThat(schedule(document, 64, NOW.plusSeconds(20))).hasSize(2);
        assertThat(schedule(document, 64, NOW.plusSeconds(19))).hasSize(1);
        assertThat(schedule(document, 0, FAR)).isEmpty();
        assertThatThrownBy(() -> schedule(document, -1, FAR)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
    }

    @Test
    void nothingExpiringGivesAnEmptySchedule() {
        assertThat(schedule(inbound(List.of(tcp(443)), allow("203.0.113.0/24"), allowUntil("203.0.113.9/32", NOW)), 64, FAR)).isEmpty();
    }

    @Test
    void inForcePicksTheLastStepThatHasBegun() {
        PolicyDocument document = inbound(List.of(tcp(443)), allowUntil("203.0.113.10/32", NOW.plusSeconds(10)), allow("198.51.100.0/24"));
        CompiledPolicy main = compile(document, NOW);
        List<ScheduledPolicy> steps = schedule(document, 64, FAR);

        assertThat(PolicyCompiler.inForce(main, steps, NOW.plusMillis(9999))).isSameAs(main);
        assertThat(PolicyCompiler.inForce(main, steps, NOW.plusSeconds(10))).isSameAs(steps.getFirst().policy());
        assertThat(PolicyCompiler.inForce(main, List.of(), NOW.plusSeconds(99))).isSameAs(main);
    }

    /**
     * The differential property: at every instant up to where the schedule runs out, the compilation in
     * force per the schedule is exactly what the plain compiler produces at that instant.
     */
    @Property(tries = 300)
    void theScheduleAgreesWithThePlainCompilerAtEveryInstant(@ForAll("expiringPolicies") PolicyDocument document,
            @ForAll("limits") int limit, @ForAll("offsets") List<Duration> probes) {
        CompiledPolicy main = PolicyCompiler.compile(document, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, NOW);
        List<ScheduledPolicy> steps = PolicyCompiler.schedule(document, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, NOW, limit, FAR);

        assertThat(steps.size()).isLessThanOrEqualTo(limit);
        Instant runsOut = steps.isEmpty() ? main.validUntil() : steps.getLast().policy().validUntil();
        TreeSet<Instant> instants = new TreeSet<>();
        instants.add(NOW);
        for (AllowlistEntry entry : document.inbound().allowlist()) {
            if (entry.expiresAt() != null) {
                // Each switch instant and its neighbours, where an off-by-one would show.
                instants.addAll(List.of(entry.expiresAt().minusMillis(1), entry.expiresAt(), entry.expiresAt().plusMillis(1)));
            }
        }
        probes.forEach(offset -> instants.add(NOW.plus(offset)));
        Instant previous = NOW;
        for (ScheduledPolicy step : steps) {
            assertThat(step.effectiveFrom()).isAfter(previous);
            previous = step.effectiveFrom();
        }
        for (Instant at : instants.tailSet(NOW, true)) {
            if (runsOut != null && !at.isBefore(runsOut)) {
                break;
            }
            assertThat(PolicyCompiler.inForce(main, steps, at)).as("at %s", at)
                    .isEqualTo(PolicyCompiler.compile(document, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, at));
        }
        if (runsOut != null && limit > 0 && steps.size() < limit) {
            assertThat(runsOut).as("only the horizon may end a schedule shorter than its limit").isAfter(FAR);
        }
    }

    @Provide
    Arbitrary<PolicyDocument> expiringPolicies() {
        Arbitrary<Instant> expiry = Arbitraries.longs().between(-3_600, 9 * 24 * 3_600).map(NOW::plusSeconds)
                .injectNull(0.2);
        Arbitrary<List<AllowlistEntry>> allowlist = Combinators.combine(RandomPolicies.policies(), expiry.list().ofMinSize(1).ofMaxSize(8))
                .as((document, expiries) -> {
                    List<AllowlistEntry> entries = new ArrayList<>();
                    List<AllowlistEntry> base = document.inbound().allowlist();
                    for (int i = 0; i < expiries.size(); i++) {
                        AllowlistEntry template = base.isEmpty()
                                ? allow(i % 2 == 0 ? "203.0.113." + (i * 16) + "/28" : "2001:db8::" + Integer.toHexString(i) + "/128")
                                : base.get(i % base.size());
                        entries.add(new AllowlistEntry(template.id(), template.cidr(), template.ports(), template.description(),
                                template.requestedBy(), expiries.get(i), template.provenance()));
                    }
                    return entries;
                });
        return Combinators.combine(RandomPolicies.policies(), allowlist).as((document, entries) ->
                document.withInbound(new Inbound(entries, document.inbound().ports(), document.inbound().geo())));
    }

    @Provide
    Arbitrary<Integer> limits() {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 3)),
                net.jqwik.api.Tuple.of(3, Arbitraries.just(64)));
    }

    @Provide
    Arbitrary<List<Duration>> offsets() {
        return Arbitraries.longs().between(0, 10L * 24 * 3_600_000).map(Duration::ofMillis).list().ofMaxSize(10);
    }
}
