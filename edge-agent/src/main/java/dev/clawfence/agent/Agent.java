package dev.clawfence.agent;

import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.agent.sync.WireException;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
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
 * {@code driftCheckInterval} and restores it, and watches the policy's {@code validUntil}. New versions
 * arrive through {@link #offer}, which applies them commit-confirmed ({@link SafeApply}). Closing the
 * agent stops its timers and leaves the ruleset in force.
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
    private Applied current;
    private Retry retry;
    private ScheduledFuture<?> lapse;

    public Agent(Enforcer enforcer, Store store, Settings settings, Clock clock, Consumer<String> log) {
        this.enforcer = enforcer;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.log = log;
        this.safeApply = new SafeApply(enforcer, store, settings.confirmDeadline(), log);
    }

    public void onDrift(DriftListener listener) {
        this.driftListener = listener;
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
        Store.Load<PolicyUpdate> stored = store.lastApplied();
        if (stored.problem() != null) {
            log.accept("warning: ignoring the stored policy: " + stored.problem() + "; starting without a policy");
        }
        if (stored.value().isEmpty()) {
            if (stored.problem() == null) {
                log.accept("no stored policy in " + store.directory() + "; nothing is enforced until the control plane sends one");
            }
            return new StartReport(0, Duration.ofNanos(System.nanoTime() - started), stored.problem());
        }
        PolicyUpdate update = stored.value().get();
        try {
            CompiledPolicy policy = PolicyWire.toDomain(update);
            current = new Applied(update.getVersion(), update, policy, enforcer.apply(policy));
        } catch (WireException | EnforceException e) {
            String problem = "the stored policy version " + update.getVersion() + " cannot be enforced: " + e.getMessage();
            log.accept("error: " + problem);
            return new StartReport(0, Duration.ofNanos(System.nanoTime() - started), problem);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        log.accept("enforcing stored policy version " + current.version() + " (" + current.ruleset() + ") " + took.toMillis() + " ms after start");
        watchValidity();
        return new StartReport(current.version(), took, null);
    }

    /**
     * Applies {@code update} commit-confirmed with {@code confirmation}; see {@link SafeApply}. A rollback
     * makes the version the pending {@link #retry()}; any other outcome, or any other version, clears it.
     */
    public synchronized ApplyOutcome offer(PolicyUpdate update, Confirmation confirmation) {
        SafeApply.Result result = safeApply.apply(current, update, confirmation);
        current = result.inForce();
        watchValidity();
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
     * At the policy's {@code validUntil} an allowlist entry lapses. The compiled wire form carries no
     * per-entry expiry, so the agent cannot drop the entry itself: it says so, and the control plane
     * (which recompiles at that time) sends the next version.
     */
    private void watchValidity() {
        if (lapse != null) {
            lapse.cancel(false);
            lapse = null;
        }
        if (current == null || current.policy().validUntil() == null) {
            return;
        }
        Instant until = current.policy().validUntil();
        long version = current.version();
        long delay = Math.max(0, Duration.between(clock.instant(), until).toMillis());
        lapse = timers.schedule(() -> log.accept("warning: policy version " + version + " lapsed at " + until
                + " (an allowlist entry expired); waiting for the control plane's recompiled version"), delay, TimeUnit.MILLISECONDS);
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
