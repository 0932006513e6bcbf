package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import org.junit.jupiter.api.Test;

/** The contract check of a RuleCounters message: every problem named, with its path. */
class KernelCountersTest {

    private static final RuleCount GOOD = RuleCount.newBuilder().setDirection(Direction.DIRECTION_INBOUND)
            .setVerdict(Verdict.VERDICT_BLOCKED).setReason("not-allowlisted").setAttempts(12_408).build();

    @Test
    void aWellFormedMessagePasses() {
        assertThatCode(() -> KernelCounters.check(RuleCounters.newBuilder().setFromEpochMillis(1_000).setToEpochMillis(2_000)
                .addCounts(GOOD).build())).doesNotThrowAnyException();
    }

    @Test
    void everyProblemIsNamedAtOnce() {
        RuleCounters bad = RuleCounters.newBuilder().setFromEpochMillis(3_000).setToEpochMillis(2_000)
                .addCounts(GOOD)
                .addCounts(GOOD.toBuilder().setDirectionValue(0).setReason("x".repeat(101)))
                .addCounts(GOOD.toBuilder().setVerdictValue(7).setRuleId("in-\0").setAttempts(-1))
                .build();

        assertThatThrownBy(() -> KernelCounters.check(bad))
                .isInstanceOf(InvalidRuleCountersException.class)
                .hasMessage("rule counters refused, nothing stored: "
                        + "rule_counters.from_epoch_millis: 3000 is after to_epoch_millis 2000; "
                        + "rule_counters.counts[1].direction: 0 is not a known direction (inbound 1, outbound 2); "
                        + "rule_counters.counts[1].reason: 101 characters is longer than 100; "
                        + "rule_counters.counts[2].verdict: 7 is not a known verdict (allowed 1, blocked 2, would-block 3); "
                        + "rule_counters.counts[2].rule_id: contains a NUL character; "
                        + "rule_counters.counts[2].attempts: 18446744073709551615 is beyond any real count");
    }

    @Test
    void aMessageWithoutAnEndIsRefused() {
        assertThatThrownBy(() -> KernelCounters.check(RuleCounters.newBuilder().addCounts(GOOD).build()))
                .hasMessageContaining("rule_counters.to_epoch_millis: 0 is not a time after 1970");
    }
}
