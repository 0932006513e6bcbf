package dev.clawfence.agent.enforce;

import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.LogDecision;
import java.util.Map;
import java.util.Optional;

/**
 * Puts a compiled policy into the host's packet filter and keeps it there; one implementation per
 * backend. An enforcer owns only its own objects (nftables: table {@code inet clawfence}; iptables: the
 * {@code CLAWFENCE-*} chains, their jumps and the {@code cf_*} ipsets) and never touches anything else.
 * Implementations are not thread-safe: the agent calls them from one thread at a time.
 */
public interface Enforcer {

    /** The backend's name as reported to the control plane: {@code nftables}, {@code iptables} or {@code dry-run}. */
    String backend();

    /**
     * Renders and applies {@code policy}, replacing what this enforcer applied before.
     *
     * @return the applied ruleset (text and SHA-256)
     * @throws EnforceException when the policy cannot be rendered or the kernel refuses it; the previous
     *     ruleset is then still in force
     */
    AppliedRuleset apply(CompiledPolicy policy) throws EnforceException;

    /**
     * Puts {@code previous} back (after a rollback or drift); {@code null} removes this enforcer's objects,
     * for a rollback to "nothing was enforced".
     */
    void restore(AppliedRuleset previous) throws EnforceException;

    /**
     * Compares the kernel's state with what this enforcer last applied or restored.
     *
     * @return what differs, in words, or empty when nothing does (or nothing was applied yet)
     */
    Optional<String> checkDrift() throws EnforceException;

    /** Removes every object this enforcer owns and nothing else (used by {@code --uninstall}). */
    void remove() throws EnforceException;

    /**
     * The kernel's per-decision attempt counters of the ruleset in force now, totals since it was loaded
     * (a load starts them at zero); empty where the backend keeps none or nothing is applied.
     */
    default Map<LogDecision, Long> counters() throws EnforceException {
        return Map.of();
    }
}
