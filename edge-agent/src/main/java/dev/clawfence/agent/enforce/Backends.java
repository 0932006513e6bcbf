package dev.clawfence.agent.enforce;

import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.agent.enforce.iptables.IptablesEnforcer;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.policy.render.EventLogging;
import java.util.List;
import java.util.function.Consumer;

/** Picks the enforcement backend: by name, or with {@code auto} nftables when {@code nft --version} works, else iptables. */
public final class Backends {

    /** The names accepted in the configuration. */
    public static final List<String> NAMES = List.of("auto", "nftables", "iptables", "dry-run");

    private Backends() {}

    public static Enforcer select(String name, CommandRunner runner, Consumer<String> log) {
        return select(name, runner, log, EventLogging.DEFAULT);
    }

    /** The backend, rendering its rulesets with {@code logging}. */
    public static Enforcer select(String name, CommandRunner runner, Consumer<String> log, EventLogging logging) {
        return switch (name) {
            case "nftables" -> new NftablesEnforcer(runner, logging);
            case "iptables" -> new IptablesEnforcer(runner, logging);
            case "dry-run" -> new DryRunEnforcer(log);
            case "auto" -> NftablesEnforcer.version(runner).isPresent() ? new NftablesEnforcer(runner, logging) : new IptablesEnforcer(runner, logging);
            default -> throw new IllegalArgumentException("unknown backend " + name + "; use one of " + NAMES);
        };
    }
}
