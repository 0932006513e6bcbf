package dev.clawfence.bench.apply;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * System benchmarks of issue 3 that need root, nftables and network namespaces: {@code apply} (policy
 * apply time with a large set against a bare {@code nft -f}) and {@code save-to-enforced} (REST save to
 * kernel enforcement with the real control-plane and agent jars). Each creates its own {@code ab-*}
 * namespaces and processes and removes them when it ends.
 */
@Command(name = "bench-system", mixinStandardHelpOptions = true, subcommands = {ApplyBench.class, SaveToEnforcedBench.class})
public final class BenchMain {

    private BenchMain() {}

    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchMain()).execute(args));
    }
}
