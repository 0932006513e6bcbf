package dev.clawfence.agent.events;

import dev.clawfence.agent.enforce.CountingEnforcer;
import dev.clawfence.policy.render.LogDecision;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Sends the kernel's per-decision counters as {@link RuleCounters} deltas every {@code interval}:
 * exact totals of the attempts, also those whose events the log rate limit dropped. Deltas that cannot
 * be sent (no Sync stream) are kept and go with the next report, whose interval then starts where the
 * unsent one started; an interval with nothing counted sends nothing.
 */
public final class CounterReporter implements AutoCloseable {

    private final CountingEnforcer counters;
    private final Predicate<AgentMessage> send;
    private final LongSupplier policyVersion;
    private final Clock clock;
    private ScheduledFuture<?> schedule;
    private final Supplier<CaptureLosses> captureLosses;
    private Instant from;
    /** The capture's loss totals as of the last report that went out. */
    private CaptureLosses reported = CaptureLosses.NONE;

    /** Running totals of what the capture lost (see RuleCounters.events_lost_at_capture and capture_overruns). */
    public record CaptureLosses(long events, long overruns) {
        public static final CaptureLosses NONE = new CaptureLosses(0, 0);
    }

    /**
     * @param send          puts a message on the Sync stream; false when there is none now
     * @param policyVersion the version in force (0 for none)
     */
    public CounterReporter(CountingEnforcer counters, Predicate<AgentMessage> send, LongSupplier policyVersion, Clock clock) {
        this(counters, send, policyVersion, () -> CaptureLosses.NONE, clock);
    }

    /** @param captureLosses the capture's loss totals so far (they only grow) */
    public CounterReporter(CountingEnforcer counters, Predicate<AgentMessage> send, LongSupplier policyVersion,
            Supplier<CaptureLosses> captureLosses, Clock clock) {
        this.counters = counters;
        this.captureLosses = captureLosses;
        this.send = send;
        this.policyVersion = policyVersion;
        this.clock = clock;
        this.from = clock.instant();
    }

    /**
     * Reports every {@code interval} on {@code timer}, which the caller owns: the agent's own timer thread,
     * so the reports cost no thread of their own (a dump of a few counters takes well under a millisecond).
     */
    public synchronized void start(ScheduledExecutorService timer, Duration interval) {
        if (schedule != null) {
            throw new IllegalStateException("the counter reports are already scheduled");
        }
        schedule = timer.scheduleWithFixedDelay(this::reportQuietly, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Reads the counters now and sends what they counted since the last report that went out; returns the message if one was sent. */
    public synchronized java.util.Optional<RuleCounters> report() {
        Map<LogDecision, Long> deltas = counters.drain();
        Instant to = clock.instant();
        CaptureLosses losses = captureLosses.get();
        long lost = losses.events() - reported.events();
        long overruns = losses.overruns() - reported.overruns();
        if (deltas.isEmpty() && lost == 0 && overruns == 0) {
            from = to;
            return java.util.Optional.empty();
        }
        RuleCounters message = message(deltas, from, to, policyVersion.getAsLong()).toBuilder()
                .setEventsLostAtCapture(lost).setCaptureOverruns(overruns).build();
        boolean sent;
        try {
            sent = send.test(AgentMessage.newBuilder().setRuleCounters(message).build());
        } catch (RuntimeException e) {
            sent = false;
        }
        if (sent) {
            from = to;
            reported = losses;
            return java.util.Optional.of(message);
        }
        counters.giveBack(deltas);
        return java.util.Optional.empty();
    }

    static RuleCounters message(Map<LogDecision, Long> deltas, Instant from, Instant to, long policyVersion) {
        RuleCounters.Builder message = RuleCounters.newBuilder()
                .setFromEpochMillis(from.toEpochMilli())
                .setToEpochMillis(to.toEpochMilli())
                .setPolicyVersion(policyVersion);
        deltas.forEach((decision, attempts) -> message.addCounts(RuleCount.newBuilder()
                .setDirection(decision.direction() == dev.clawfence.policy.Direction.INBOUND ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                .setVerdict(switch (decision.verdict()) {
                    case ALLOWED -> Verdict.VERDICT_ALLOWED;
                    case BLOCKED -> Verdict.VERDICT_BLOCKED;
                    case WOULD_BLOCK -> Verdict.VERDICT_WOULD_BLOCK;
                })
                .setReason(decision.reason().wireName())
                .setAttempts(attempts)));
        return message.build();
    }

    private void reportQuietly() {
        try {
            report();
        } catch (RuntimeException e) {
            // The next interval tries again; the deltas stay with the enforcer.
        }
    }

    @Override
    public synchronized void close() {
        if (schedule != null) {
            schedule.cancel(false);
        }
    }
}
