package dev.clawfence.agent;

import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.agent.sync.WireException;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One agent on one host. {@link #start()} is fail-static: it applies the last stored policy before
 * anything else (before any network call), so the host is enforced even when the control plane cannot
 * be reached, and reports how long that took. It then checks the ruleset for drift every
 * {@code driftCheckInterval} and restores it. New versions arrive through {@link #offer}, which applies
 * them commit-confirmed ({@link SafeApply}).
 *
 * <p>A version carries its expiry schedule ({@code PolicyUpdate.scheduled}); at start and on every
 * update the agent enforces the compilation in force now, and at each later step's instant it switches
 * to that step by itself, on {@code clock} time, with or without a control plane: the switch only drops
 * lapsed allowlist entries, so it is applied directly, not commit-confirmed (an offline agent would
 * otherwise roll it back). Each switch is stored (the rest of the schedule with it) and reported to the
 * {@link #onLocalApply listener} as APPLIED for the same version. Closing the agent stops its timers and
 * leaves the ruleset in force.
 */
public final class Agent implements AutoCloseable {

    /** How often drift is checked and how long a new version waits for confirmation. */
    public record Settings(Duration driftCheckInterval, Duration confirmDeadline) {

        public static final Settings DEFAULT = new Settings(Duration.ofSeconds(30), Duration.ofSeconds(20));
    }

    /**
     * A version that was rolled back because its confirmation did not come: the sync stream tries it
     * again once the control plane answers again and {@code holdOff} has passed, so that a transient cut
     * does not leave the host on an old version, while a version that itself cuts the host off is not
     * re-applied in a tight loop ({@code holdOff} doubles with every rollback of the same version).
     *
     * @param rollbacks how many times in a row this version was rolled back (1 or more)
     * @param reason why it was last rolled back
     */
    public record Retry(PolicyUpdate update, int rollbacks, String reason, Duration holdOff) {

        public long version() {
            return update.getVersion();
        }
    }

    /** The longest wait before a rolled-back version is tried again. */
    static final Duration MAX_HOLD_OFF = Duration.ofHours(1);

    /** What {@link #start()} found: the version now enforced (0 for none), the time it took, and a problem with the stored state if any. */
    public record StartReport(long enforcedVersion, Duration startToEnforced, String problem) {}

    private final Enforcer enforcer;
    private final Store store;
    private final Settings settings;
    private final Clock clock;
    private final Consumer<String> log;
    private final SafeApply safeApply;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("agent-timers").factory());
    private volatile DriftListener driftListener = DriftListener.NONE;
    private volatile Consumer<ApplyOutcome> localApplyListener = outcome -> {};
    private Applied current;
    private Retry retry;
    private ScheduledFuture<?> nextSwitch;

    public Agent(Enforcer enforcer, Store store, Settings settings, Clock clock, Consumer<String> log) {
        this.enforcer = enforcer;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.log = log;
        this.safeApply = new SafeApply(enforcer, store, settings.confirmDeadline(), log);
    }

    /**
     * The agent's timer thread (drift checks, schedule switches), for other short periodic work of the
     * agent, so that it needs no thread of its own. Tasks must not block for long: they delay the drift check.
     */
    public ScheduledExecutorService timers() {
        return timers;
    }

    public void onDrift(DriftListener listener) {
        this.driftListener = listener;
    }

    /**
     * Receives the outcome of each switch to the next step of the schedule (made without the control
     * plane); called with the agent's lock held, so outcomes arrive in the order they happened.
     */
    public void onLocalApply(Consumer<ApplyOutcome> listener) {
        this.localApplyListener = listener == null ? outcome -> {} : listener;
    }

    /** Applies the stored policy (if any), then starts the drift checks. Call once. */
    public StartReport start() {
        long started = System.nanoTime();
        StartReport report = enforceStored(started);
        long every = settings.driftCheckInterval().toMillis();
        timers.scheduleWithFixedDelay(this::checkDriftQuietly, every, every, TimeUnit.MILLISECONDS);
        return report;
    }

    private synchronized StartReport enforceStored(long started) {
        Store.Load<PolicyUpdate> load = store.lastApplied();
        if (load.problem() != null) {
            log.accept("warning: ignoring the stored policy: " + load.problem() + "; starting without a policy");
        }
        if (load.value().isEmpty()) {
            if (load.problem() == null) {
                log.accept("no stored policy in " + store.directory() + "; nothing is enforced until the control plane sends one");
            }
            return new StartReport(0, Duration.ofNanos(System.nanoTime() - started), load.problem());
        }
        PolicyUpdate stored = load.value().get();
        // A restart after an expiry (offline, or before the control plane answers) must not bring the lapsed entry back.
        PolicyUpdate update;
        try {
            update = stored;
            PolicyUpdate effective = PolicyWire.effectiveAt(stored, clock.instant());
            if (effective != stored) {
                update = PolicyWire.complete(effective, hash -> Optional.empty());
            }
            CompiledPolicy policy = PolicyWire.toDomain(update);
            current = new Applied(update.getVersion(), update, policy, enforcer.apply(policy));
        } catch (WireException | EnforceException e) {
            String problem = "the stored policy version " + stored.getVersion() + " cannot be enforced: " + e.getMessage();
            log.accept("error: " + problem);
            return new StartReport(0, Duration.ofNanos(System.nanoTime() - started), problem);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        log.accept("enforcing stored policy version " + current.version() + " (" + current.ruleset() + ") " + took.toMillis() + " ms after start"
                + (update != stored ? ", as scheduled from " + Instant.ofEpochMilli(stored.getScheduled(stored.getScheduledCount() - update.getScheduledCount() - 1)
                        .getEffectiveFromEpochMillis()) + " (allowlist entries lapsed while the agent was down)" : ""));
        if (update != stored) {
            storeQuietly(update);
        }
        armNextSwitch();
        return new StartReport(current.version(), took, null);
    }

    /**
     * Applies {@code update} commit-confirmed with {@code confirmation} (see {@link SafeApply}), as the
     * compilation of its schedule that is in force now. A rollback makes the version the pending
     * {@link #retry()}; any other outcome, or any other version, clears it.
     */
    public synchronized ApplyOutcome offer(PolicyUpdate update, Confirmation confirmation) {
        SafeApply.Result result = safeApply.apply(current, PolicyWire.effectiveAt(update, clock.instant()), confirmation);
        current = result.inForce();
        armNextSwitch();
        ApplyOutcome outcome = result.outcome();
        if (outcome.outcome() == ApplyOutcome.Outcome.ROLLED_BACK) {
            int rollbacks = retry != null && retry.version() == update.getVersion() ? retry.rollbacks() + 1 : 1;
            retry = new Retry(update, rollbacks, outcome.reason(), holdOff(rollbacks));
        } else {
            retry = null;
        }
        return outcome;
    }

    /** The rolled-back version waiting to be tried again, if any. */
    public synchronized Optional<Retry> retry() {
        return Optional.ofNullable(retry);
    }

    /** How long to wait after the {@code rollbacks}-th rollback of a version: the confirm deadline, doubled each time, at most {@link #MAX_HOLD_OFF}. */
    Duration holdOff(int rollbacks) {
        Duration holdOff = settings.confirmDeadline();
        for (int i = 1; i < rollbacks && holdOff.compareTo(MAX_HOLD_OFF) < 0; i++) {
            holdOff = holdOff.multipliedBy(2);
        }
        return holdOff.compareTo(MAX_HOLD_OFF) < 0 ? holdOff : MAX_HOLD_OFF;
    }

    /** How long a new version waits for its confirmation. */
    public Duration confirmDeadline() {
        return settings.confirmDeadline();
    }

    /** The version in force, if any. */
    public synchronized Optional<Applied> current() {
        return Optional.ofNullable(current);
    }

    /**
     * Checks for drift now and restores the ruleset if it drifted.
     *
     * @return what had drifted, or empty
     */
    public synchronized Optional<String> checkDrift() {
        if (current == null) {
            return Optional.empty();
        }
        Optional<String> drift;
        try {
            drift = enforcer.checkDrift();
        } catch (EnforceException e) {
            log.accept("warning: drift check failed: " + e.getMessage());
            return Optional.empty();
        }
        if (drift.isEmpty()) {
            return drift;
        }
        boolean restored;
        try {
            enforcer.restore(current.ruleset());
            restored = true;
            log.accept("drift: " + drift.get() + "; restored policy version " + current.version());
        } catch (EnforceException e) {
            restored = false;
            log.accept("error: drift: " + drift.get() + "; restoring failed: " + e.getMessage());
        }
        driftListener.drifted(drift.get(), restored);
        return drift;
    }

    private void checkDriftQuietly() {
        try {
            checkDrift();
        } catch (RuntimeException e) {
            log.accept("error: drift check: " + e);
        }
    }

    /**
     * Sets the timer for the next step of the schedule in force. With no step left and a
     * {@code validUntil} still ahead, the schedule runs out then: the agent keeps the lapsing entry (the
     * wire form says nothing about entries, only compilations) and says so.
     */
    private void armNextSwitch() {
        if (nextSwitch != null) {
            nextSwitch.cancel(false);
            nextSwitch = null;
        }
        if (current == null) {
            return;
        }
        Applied armedFor = current;
        if (armedFor.update().getScheduledCount() > 0) {
            Instant at = Instant.ofEpochMilli(armedFor.update().getScheduled(0).getEffectiveFromEpochMillis());
            nextSwitch = timers.schedule(() -> switchQuietly(armedFor), delayUntil(at), TimeUnit.MILLISECONDS);
        } else if (armedFor.policy().validUntil() != null) {
            Instant until = armedFor.policy().validUntil();
            nextSwitch = timers.schedule(() -> log.accept("warning: the schedule of policy version " + armedFor.version() + " ran out at " + until
                    + " (an allowlist entry lapsed that it does not cover); enforcing it until the control plane sends a recompiled version"),
                    delayUntil(until), TimeUnit.MILLISECONDS);
        }
    }

    private long delayUntil(Instant at) {
        return Math.max(0, Duration.between(clock.instant(), at).toMillis());
    }

    private void switchQuietly(Applied armedFor) {
        try {
            switchToSchedule(armedFor);
        } catch (RuntimeException e) {
            log.accept("error: scheduled switch: " + e);
        }
    }

    /** Moves to the step of the schedule in force now, unless a newer version (or switch) came first. */
    private synchronized void switchToSchedule(Applied armedFor) {
        if (current != armedFor) {
            return;
        }
        PolicyUpdate effective = PolicyWire.effectiveAt(current.update(), clock.instant());
        if (effective == current.update()) {
            // The timer ran early against the clock (clock adjusted): try again at the step's instant.
            armNextSwitch();
            return;
        }
        long version = current.version();
        Instant from = Instant.ofEpochMilli(current.update().getScheduled(current.update().getScheduledCount() - effective.getScheduledCount() - 1)
                .getEffectiveFromEpochMillis());
        ApplyOutcome outcome;
        try {
            PolicyUpdate complete = PolicyWire.complete(effective, hash -> Optional.empty());
            CompiledPolicy policy = PolicyWire.toDomain(complete);
            current = new Applied(version, complete, policy, enforcer.apply(policy));
            log.accept("policy version " + version + ": allowlist entries lapsed at " + from + "; switched to the compilation scheduled for then ("
                    + current.ruleset() + ")");
            storeQuietly(complete);
            outcome = new ApplyOutcome(version, ApplyOutcome.Outcome.APPLIED, "", current.ruleset().sha256());
        } catch (WireException | EnforceException e) {
            String reason = "cannot drop the allowlist entries that lapsed at " + from + ": " + e.getMessage() + "; retrying in "
                    + text(settings.driftCheckInterval());
            log.accept("error: policy version " + version + ": " + reason);
            nextSwitch = timers.schedule(() -> switchQuietly(armedFor), settings.driftCheckInterval().toMillis(), TimeUnit.MILLISECONDS);
            report(new ApplyOutcome(version, ApplyOutcome.Outcome.FAILED, reason, armedFor.ruleset().sha256()));
            return;
        }
        armNextSwitch();
        report(outcome);
    }

    private void report(ApplyOutcome outcome) {
        try {
            localApplyListener.accept(outcome);
        } catch (RuntimeException e) {
            // The stream that would carry it is closing; the next hello reports the ruleset in force.
            log.accept("warning: cannot report the scheduled switch of policy version " + outcome.version() + ": " + e);
        }
    }

    private void storeQuietly(PolicyUpdate complete) {
        try {
            store.saveApplied(complete);
        } catch (IOException e) {
            log.accept("warning: policy version " + complete.getVersion() + " as scheduled is enforced but cannot be stored (" + e.getMessage()
                    + "); after a restart the agent switches again from the stored schedule");
        }
    }

    /** Stops the timers; the ruleset stays in force. */
    @Override
    public void close() {
        timers.shutdownNow();
    }

    /** A duration for messages: {@code 20 s} or {@code 300 ms}. */
    public static String text(Duration duration) {
        return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + " s" : duration.toMillis() + " ms";
    }
}
