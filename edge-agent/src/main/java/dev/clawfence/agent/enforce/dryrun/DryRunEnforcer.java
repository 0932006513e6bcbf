package dev.clawfence.agent.enforce.dryrun;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.NftRenderer;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Renders policies as nftables text and logs what it would do, without running any command: for trying
 * the agent on a host it must not change. It never reports drift.
 */
public final class DryRunEnforcer implements Enforcer {

    private final Consumer<String> log;

    public DryRunEnforcer(Consumer<String> log) {
        this.log = log;
    }

    @Override
    public String backend() {
        return "dry-run";
    }

    @Override
    public AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
        String script = EnforceException.rendering(backend(), NftRenderer::render, policy);
        AppliedRuleset ruleset = AppliedRuleset.of(backend(), script);
        log.accept("dry-run: would apply " + ruleset + " (" + script.lines().count() + " lines of nft)");
        return ruleset;
    }

    @Override
    public void restore(AppliedRuleset previous) {
        log.accept(previous == null ? "dry-run: would remove table inet clawfence" : "dry-run: would restore " + previous);
    }

    @Override
    public Optional<String> checkDrift() {
        return Optional.empty();
    }

    @Override
    public void remove() {
        log.accept("dry-run: would remove table inet clawfence");
    }
}
