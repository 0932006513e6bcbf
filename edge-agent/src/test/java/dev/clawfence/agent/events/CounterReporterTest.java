package dev.clawfence.agent.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.CountingEnforcer;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.LogDecision;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CounterReporterTest {

    private static final LogDecision BLOCKED = new LogDecision(dev.clawfence.policy.Direction.INBOUND, dev.clawfence.policy.Verdict.BLOCKED,
            Reason.PORT_CLOSED);

    private final Map<LogDecision, Long> kernel = new HashMap<>();
    private final List<AgentMessage> sent = new ArrayList<>();
    private boolean streamOpen;
    private CounterReporter.CaptureLosses captureLosses = CounterReporter.CaptureLosses.NONE;
    /** A clock the test moves by hand. */
    private static final class TestClock extends java.time.Clock {
        private Instant now;

        TestClock(Instant now) {
            this.now = now;
        }

        void advance(Duration duration) {
            now = now.plus(duration);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final TestClock clock = new TestClock(Instant.parse("2026-11-24T10:00:00Z"));
    /** An enforcer whose kernel counters are the map {@code kernel}. */
    private final class FakeEnforcer implements Enforcer {
        @Override
        public String backend() {
            return "fake";
        }

        @Override
        public AppliedRuleset apply(CompiledPolicy policy) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void restore(AppliedRuleset previous) {
        }

        @Override
        public Optional<String> checkDrift() {
            return Optional.empty();
        }

        @Override
        public void remove() {
        }

        @Override
        public Map<LogDecision, Long> counters() {
            return Map.copyOf(kernel);
        }
    }

    private final CounterReporter reporter = new CounterReporter(new CountingEnforcer(new FakeEnforcer(), message -> {}), message -> {
        if (streamOpen) {
            sent.add(message);
        }
        return streamOpen;
    }, () -> 12, () -> captureLosses, clock);

    @Test
    void unsentDeltasGoWithTheNextReportWhichCoversTheirIntervalToo() {
        kernel.put(BLOCKED, 40L);
        clock.advance(Duration.ofSeconds(10));
        assertThat(reporter.report()).as("no stream").isEmpty();
        kernel.put(BLOCKED, 45L);
        clock.advance(Duration.ofSeconds(10));
        streamOpen = true;

        RuleCounters report = reporter.report().orElseThrow();

        assertThat(report).isEqualTo(RuleCounters.newBuilder()
                .setFromEpochMillis(Instant.parse("2026-11-24T10:00:00Z").toEpochMilli())
                .setToEpochMillis(Instant.parse("2026-11-24T10:00:20Z").toEpochMilli())
                .setPolicyVersion(12)
                .addCounts(RuleCount.newBuilder().setDirection(Direction.DIRECTION_INBOUND).setVerdict(Verdict.VERDICT_BLOCKED)
                        .setReason("port-closed").setAttempts(45))
                .build());
        assertThat(sent).singleElement().extracting(AgentMessage::getRuleCounters).isEqualTo(report);
    }

    @Test
    void reportsRunOnTheCallersTimerUntilClosedWhichLeavesTheTimerRunning() throws Exception {
        java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("test-timer").factory());
        try {
            List<String> threads = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.CountDownLatch twice = new java.util.concurrent.CountDownLatch(2);
            CounterReporter scheduled = new CounterReporter(new CountingEnforcer(new FakeEnforcer(), message -> {}), message -> {
                threads.add(Thread.currentThread().getName());
                twice.countDown();
                return true;
            }, () -> 12, () -> new CounterReporter.CaptureLosses(threads.size() + 1, 0), java.time.Clock.systemUTC());

            scheduled.start(timer, Duration.ofMillis(20));
            assertThat(twice.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> scheduled.start(timer, Duration.ofMillis(20)))
                    .isInstanceOf(IllegalStateException.class);
            scheduled.close();
            int afterClose = threads.size();
            // Ten periods without a report: closed means no more runs on the caller's timer.
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> threads.size() == afterClose);

            assertThat(threads).allMatch("test-timer"::equals);
            assertThat(timer.isShutdown()).as("the timer belongs to the caller").isFalse();
            assertThat(timer.submit(() -> "still runs").get(5, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("still runs");
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void nothingCountedSendsNothing() {
        streamOpen = true;
        assertThat(reporter.report()).isEmpty();
        assertThat(sent).isEmpty();
    }

    /** What the capture lost reaches the control plane as deltas, also in an interval with nothing counted, and once only. */
    @Test
    void captureLossesGoOutAsDeltasUntilSent() {
        captureLosses = new CounterReporter.CaptureLosses(7, 1);
        clock.advance(Duration.ofSeconds(10));
        assertThat(reporter.report()).as("no stream").isEmpty();
        captureLosses = new CounterReporter.CaptureLosses(9, 2);
        streamOpen = true;

        RuleCounters first = reporter.report().orElseThrow();
        assertThat(first.getCountsList()).isEmpty();
        assertThat(first.getEventsLostAtCapture()).isEqualTo(9);
        assertThat(first.getCaptureOverruns()).isEqualTo(2);

        captureLosses = new CounterReporter.CaptureLosses(10, 2);
        kernel.put(BLOCKED, 3L);
        RuleCounters second = reporter.report().orElseThrow();
        assertThat(second.getEventsLostAtCapture()).isEqualTo(1);
        assertThat(second.getCaptureOverruns()).isZero();
        assertThat(reporter.report()).as("nothing new").isEmpty();
    }

}
