package dev.clawfence.agent;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.agent.sync.WireException;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Applies a new policy version commit-confirmed: resolve its sets (from the update and the store) and
 * check their hashes, apply it, then require a {@link Confirmation} within {@code deadline}. Without one
 * the previous ruleset is restored and the outcome is {@code ROLLED_BACK}. Only a confirmed version is
 * stored as the last applied policy, so a reboot never brings back a version that cut the agent off.
 */
public final class SafeApply {

    /** The outcome, and the version in force afterwards (the new one, or still {@code previous}). */
    public record Result(ApplyOutcome outcome, Applied inForce) {}

    private final Enforcer enforcer;
    private final Store store;
    private final Duration deadline;
    private final Consumer<String> log;

    public SafeApply(Enforcer enforcer, Store store, Duration deadline, Consumer<String> log) {
        this.enforcer = enforcer;
        this.store = store;
        this.deadline = deadline;
        this.log = log;
    }

    public Result apply(Applied previous, PolicyUpdate update, Confirmation confirmation) {
        long version = update.getVersion();
        String previousHash = previous == null ? "" : previous.ruleset().sha256();
        PolicyUpdate complete;
        CompiledPolicy policy;
        try {
            complete = PolicyWire.complete(update, hash -> store.set(hash).value());
            policy = PolicyWire.toDomain(complete);
        } catch (WireException e) {
            return failed(previous, version, "malformed policy update: " + e.getMessage(), previousHash);
        }
        AppliedRuleset ruleset;
        try {
            ruleset = enforcer.apply(policy);
        } catch (EnforceException e) {
            return failed(previous, version, e.getMessage(), previousHash);
        }
        for (CompiledSet set : complete.getSetsList()) {
            try {
                store.saveSet(set);
            } catch (IOException e) {
                log.accept("warning: cannot store set " + set.getName() + ": " + e.getMessage());
            }
        }
        Optional<String> unconfirmed = confirm(confirmation);
        if (unconfirmed.isPresent()) {
            String reason = unconfirmed.get();
            try {
                enforcer.restore(previous == null ? null : previous.ruleset());
            } catch (EnforceException e) {
                // The new ruleset may still be in force; say so rather than claim a rollback.
                log.accept("error: rollback of version " + version + " failed: " + e.getMessage());
                return new Result(new ApplyOutcome(version, ApplyOutcome.Outcome.FAILED,
                        reason + "; restoring the previous ruleset failed too: " + e.getMessage(), ruleset.sha256()),
                        new Applied(version, complete, policy, ruleset));
            }
            log.accept("policy version " + version + " rolled back: " + reason);
            return new Result(new ApplyOutcome(version, ApplyOutcome.Outcome.ROLLED_BACK, reason, previousHash), previous);
        }
        Applied applied = new Applied(version, complete, policy, ruleset);
        try {
            store.saveApplied(complete);
        } catch (IOException e) {
            log.accept("warning: policy version " + version + " is enforced but cannot be stored (" + e.getMessage()
                    + "); after a restart the previous stored version comes back");
        }
        log.accept("policy version " + version + " applied and confirmed (" + ruleset + ")");
        return new Result(new ApplyOutcome(version, ApplyOutcome.Outcome.APPLIED, "", ruleset.sha256()), applied);
    }

    private Result failed(Applied previous, long version, String reason, String previousHash) {
        log.accept("policy version " + version + " not applied: " + reason);
        return new Result(new ApplyOutcome(version, ApplyOutcome.Outcome.FAILED, reason, previousHash), previous);
    }

    /** Empty when confirmed in time, else why not. */
    private Optional<String> confirm(Confirmation confirmation) {
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Future<Boolean> round = executor.submit(() -> confirmation.confirm(deadline));
            return round.get(deadline.toMillis(), TimeUnit.MILLISECONDS)
                    ? Optional.empty() : Optional.of("the control plane did not confirm within " + Agent.text(deadline));
        } catch (TimeoutException e) {
            return Optional.of("no confirmation from the control plane within " + Agent.text(deadline));
        } catch (ExecutionException e) {
            return Optional.of("confirmation failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted while waiting for confirmation");
        } finally {
            executor.shutdownNow();
        }
    }
}
