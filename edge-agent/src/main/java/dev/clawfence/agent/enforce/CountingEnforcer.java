package dev.clawfence.agent.enforce;

import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.LogDecision;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * An enforcer that keeps the kernel's per-decision counters as deltas across every reload: loading a
 * ruleset (apply, restore after drift or rollback, remove) starts the kernel's counters at zero, so
 * the counters are read just before each load and the baseline is zero after it; nothing counted
 * before a load is lost, nothing is counted twice. A counter found lower than its baseline without a
 * load of ours (someone reloaded the table by hand) counts from zero. Thread-safe: the agent's thread
 * applies while the counter reporter {@link #drain() drains}.
 */
public final class CountingEnforcer implements Enforcer {

    private final Enforcer delegate;
    private final Consumer<String> log;
    private Map<LogDecision, Long> baseline = Map.of();
    private final Map<LogDecision, Long> pending = new LinkedHashMap<>();
    private boolean readFailed;

    public CountingEnforcer(Enforcer delegate, Consumer<String> log) {
        this.delegate = delegate;
        this.log = log;
    }

    /** The attempts counted since the last drain, nonzero deltas only; the next drain starts from here. */
    public synchronized Map<LogDecision, Long> drain() {
        collect();
        Map<LogDecision, Long> drained = new LinkedHashMap<>(pending);
        pending.clear();
        return drained;
    }

    /** Puts deltas back that could not be sent, so the next drain carries them too. */
    public synchronized void giveBack(Map<LogDecision, Long> deltas) {
        deltas.forEach((decision, count) -> pending.merge(decision, count, Long::sum));
    }

    /**
     * What each counter counted since {@code baseline}: the difference, or the whole of {@code now}
     * where it is below the baseline (the counter was reset) or new. Zero deltas are left out.
     */
    public static Map<LogDecision, Long> deltas(Map<LogDecision, Long> baseline, Map<LogDecision, Long> now) {
        Map<LogDecision, Long> deltas = new LinkedHashMap<>();
        now.forEach((decision, count) -> {
            long before = baseline.getOrDefault(decision, 0L);
            long delta = count >= before ? count - before : count;
            if (delta > 0) {
                deltas.put(decision, delta);
            }
        });
        return deltas;
    }

    private void collect() {
        Map<LogDecision, Long> now;
        try {
            now = delegate.counters();
        } catch (EnforceException | RuntimeException e) {
            if (!readFailed) {
                log.accept("warning: cannot read the ruleset's counters: " + e.getMessage() + " (said once until they read again)");
                readFailed = true;
            }
            return;
        }
        readFailed = false;
        deltas(baseline, now).forEach((decision, delta) -> pending.merge(decision, delta, Long::sum));
        baseline = new HashMap<>(now);
    }

    @Override
    public String backend() {
        return delegate.backend();
    }

    @Override
    public synchronized AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
        collect();
        AppliedRuleset applied = delegate.apply(policy);
        baseline = Map.of();
        return applied;
    }

    @Override
    public synchronized void restore(AppliedRuleset previous) throws EnforceException {
        collect();
        delegate.restore(previous);
        baseline = Map.of();
    }

    @Override
    public synchronized Optional<String> checkDrift() throws EnforceException {
        return delegate.checkDrift();
    }

    @Override
    public synchronized void remove() throws EnforceException {
        collect();
        delegate.remove();
        baseline = Map.of();
    }

    @Override
    public synchronized Map<LogDecision, Long> counters() throws EnforceException {
        return delegate.counters();
    }
}
