package dev.clawfence.agent.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.LogDecision;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Counter deltas across reads, reloads of ours (apply, restore, remove), failed applies and resets made by others. */
class CountingEnforcerTest {

    private static final LogDecision BLOCKED = new LogDecision(Direction.INBOUND, Verdict.BLOCKED, Reason.NOT_ALLOWLISTED);
    private static final LogDecision ALLOWED = new LogDecision(Direction.INBOUND, Verdict.ALLOWED, Reason.ALLOWLISTED);

    /** A kernel whose counters the test moves; a load starts them at zero, as replacing the nft table does. */
    private static final class FakeKernel implements Enforcer {
        final Map<LogDecision, Long> counters = new HashMap<>();
        final List<String> log = new ArrayList<>();
        boolean refuse;

        void count(LogDecision decision, long attempts) {
            counters.merge(decision, attempts, Long::sum);
        }

        @Override
        public String backend() {
            return "fake";
        }

        @Override
        public AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
            if (refuse) {
                throw new EnforceException("refused");
            }
            counters.clear();
            return AppliedRuleset.of("fake", "ruleset");
        }

        @Override
        public void restore(AppliedRuleset previous) {
            counters.clear();
        }

        @Override
        public Optional<String> checkDrift() {
            return Optional.empty();
        }

        @Override
        public void remove() {
            counters.clear();
        }

        @Override
        public Map<LogDecision, Long> counters() {
            return Map.copyOf(counters);
        }
    }

    private final FakeKernel kernel = new FakeKernel();
    private final CountingEnforcer counting = new CountingEnforcer(kernel, kernel.log::add);

    @Test
    void eachDrainCarriesWhatWasCountedSinceTheLastOne() {
        kernel.count(BLOCKED, 5);
        assertThat(counting.drain()).containsExactly(Map.entry(BLOCKED, 5L));
        kernel.count(BLOCKED, 3);
        kernel.count(ALLOWED, 2);
        assertThat(counting.drain()).containsOnly(Map.entry(BLOCKED, 3L), Map.entry(ALLOWED, 2L));
        assertThat(counting.drain()).isEmpty();
    }

    @Test
    void whatWasCountedBeforeAnApplyIsKeptAndTheNewRulesetCountsFromZero() throws EnforceException {
        kernel.count(BLOCKED, 7);
        counting.drain();
        kernel.count(BLOCKED, 4);
        counting.apply(TestPolicies.inbound("203.0.113.2/32"));
        kernel.count(BLOCKED, 9);
        assertThat(counting.drain()).containsExactly(Map.entry(BLOCKED, 13L));
    }

    @Test
    void restoreAndRemoveAreReloadsToo() throws EnforceException {
        kernel.count(ALLOWED, 2);
        counting.restore(AppliedRuleset.of("fake", "ruleset"));
        kernel.count(ALLOWED, 1);
        counting.remove();
        assertThat(counting.drain()).containsExactly(Map.entry(ALLOWED, 3L));
    }

    @Test
    void aRefusedApplyLeavesTheOldCountersRunning() {
        kernel.count(BLOCKED, 10);
        kernel.refuse = true;
        assertThatThrownBy(() -> counting.apply(TestPolicies.inbound("203.0.113.2/32"))).isInstanceOf(EnforceException.class);
        kernel.count(BLOCKED, 1);
        assertThat(counting.drain()).containsExactly(Map.entry(BLOCKED, 11L));
    }

    @Test
    void aCounterThatWentDownWithoutALoadOfOursWasResetAndCountsFromZero() {
        kernel.count(BLOCKED, 100);
        counting.drain();
        kernel.counters.put(BLOCKED, 6L);
        assertThat(counting.drain()).containsExactly(Map.entry(BLOCKED, 6L));
    }

    @Test
    void deltasThatCouldNotBeSentGoWithTheNextDrain() {
        kernel.count(BLOCKED, 5);
        counting.giveBack(counting.drain());
        kernel.count(BLOCKED, 1);
        assertThat(counting.drain()).containsExactly(Map.entry(BLOCKED, 6L));
    }

    @Test
    void deltasLeaveOutZeroes() {
        assertThat(CountingEnforcer.deltas(Map.of(BLOCKED, 4L, ALLOWED, 1L), Map.of(BLOCKED, 4L, ALLOWED, 3L)))
                .containsExactly(Map.entry(ALLOWED, 2L));
    }
}
