package dev.clawfence.agent.enforce.nftables;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.policy.render.LogDecision;
import dev.clawfence.policy.render.Netns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The netlink counter read against nft's own listing, in a namespace whose table also holds a
 * 100,000-CIDR interval set: the same numbers, without the seconds nft spends fetching the set first.
 */
class NftCounterReaderIT {

    @Test
    void readsWhatNftListsWithoutFetchingTheSets() throws Exception {
        Netns.assumeAvailable();
        StringBuilder script = new StringBuilder("table inet clawfence {\n\tcounter in_b_port_closed {\n\t\tpackets 12345 bytes 678\n\t}\n"
                + "\tcounter out_a_default {\n\t}\n\tcounter someone_else {\n\t\tpackets 7 bytes 1\n\t}\n\tset big {\n\t\ttype ipv4_addr\n"
                + "\t\tflags interval\n\t\telements = {\n");
        List<String> cidrs = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            cidrs.add((10 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256) + ".0/25");
        }
        script.append("\t\t\t").append(String.join(",\n\t\t\t", cidrs)).append("\n\t\t}\n\t}\n}\n");
        Path file = Files.createTempFile("cf-counters", ".nft");
        try (Netns ns = Netns.create("cf-ev-")) {
            Files.writeString(file, script);
            assertThat(ns.exec(List.of("nft", "-f", file.toString())).exitCode()).isZero();

            NftCounterReader.read(Optional.of(ns.name()), "clawfence"); // links the native calls once, as a running agent has
            long started = System.nanoTime();
            Map<String, Long> netlink = NftCounterReader.read(Optional.of(ns.name()), "clawfence");
            double netlinkMs = (System.nanoTime() - started) / 1e6;
            started = System.nanoTime();
            Map<LogDecision, Long> nft = NftablesEnforcer.parseCounters(ns.exec(List.of("nft", "-j", "list", "counters", "table", "inet", "clawfence"))
                    .output());
            double nftMs = (System.nanoTime() - started) / 1e6;
            System.out.printf("counters of a table with a 100,000-CIDR set: netlink %.1f ms, nft -j list counters %.1f ms%n", netlinkMs, nftMs);

            assertThat(netlink).containsOnly(Map.entry("in_b_port_closed", 12345L), Map.entry("out_a_default", 0L), Map.entry("someone_else", 7L));
            Map<LogDecision, Long> decisions = new LinkedHashMap<>();
            netlink.forEach((name, packets) -> LogDecision.ofCounterName(name).ifPresent(decision -> decisions.put(decision, packets)));
            assertThat(decisions).isEqualTo(nft);
            assertThat(NftCounterReader.read(Optional.of(ns.name()), "no_such_table")).isEmpty();
            assertThat(new NftablesEnforcer(CommandRunner.inNamespace(ns.name())).counters()).as("nothing applied by this enforcer").isEmpty();
        } finally {
            Files.delete(file);
        }
    }
}
