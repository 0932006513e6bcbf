package dev.clawfence.agent.enforce;

import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.agent.enforce.iptables.IptablesEnforcer;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import java.util.List;
import java.util.function.Consumer;

/** Picks the enforcement backend: by name, or with {@code auto} nftables when {@code nft --version} works, else iptables. */
public final class Backends {

    /** The names accepted in the configuration. */
    public static final List<String> NAMES = List.of("auto", "nftables", "iptables", "dry-run");

    private Backends() {}

    public static Enforcer select(String name, CommandRunner runner, Consumer<String> log) {
        return switch (name) {
            case "nftables" -> new NftablesEnforcer(runner);
            case "iptables" -> new IptablesEnforcer(runner);
            case "dry-run" -> new DryRunEnforcer(log);
            case "auto" -> NftablesEnforcer.version(runner).isPresent() ? new NftablesEnforcer(runner) : new IptablesEnforcer(runner);
            default -> throw new IllegalArgumentException("unknown backend " + name + "; use one of " + NAMES);
        };
    }
}
