package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every golden .iptables file applies for real in a fresh network namespace: {@code ipset -exist
 * restore}, then {@code iptables-restore --noflush} and {@code ip6tables-restore --noflush}, one golden
 * after another (so each replaces the previous one's sets and chains). Needs root, ip and nft like the
 * nft checks, plus ipset and iptables: without them the test is skipped with the reason printed, and
 * under CI=true it fails instead (.ci/run installs them).
 */
class GoldenIptablesCheckTest {

    @Test
    void everyGoldenAppliesAndReplacesThePreviousOne() throws IOException {
        Netns.assumeTools("ipset", "iptables-restore", "ip6tables-restore");
        try (Netns ns = Netns.create()) {
            for (Path json : GoldenCase.all()) {
                Path file = GoldenCase.DIRECTORY.resolve(json.getFileName().toString().replaceFirst("\\.json$", ".iptables"));
                String[] parts = Files.readString(file, StandardCharsets.UTF_8).split("(?m)^### .*\n");
                assertThat(parts).as("%s has three sections", file).hasSize(4);
                apply(ns, file, "ipset -exist restore", parts[1]);
                apply(ns, file, "iptables-restore --noflush", parts[2]);
                apply(ns, file, "ip6tables-restore --noflush", parts[3]);
            }
            Netns.Result chains = ns.exec(List.of("iptables", "-S"));
            assertThat(chains.output()).contains("-N CLAWFENCE-IN").contains("-N CLAWFENCE-OUT");
            Netns.Result sets = ns.exec(List.of("ipset", "list", "-n"));
            assertThat(sets.output()).doesNotContain("_new");
        }
    }

    private static void apply(Netns ns, Path file, String command, String text) throws IOException {
        Path input = Files.createTempFile("cf-ipt", ".txt");
        try {
            Files.writeString(input, text, StandardCharsets.UTF_8);
            Netns.Result result = ns.exec(List.of("sh", "-c", command + " < " + input.toAbsolutePath()));
            assertThat(result.exitCode()).as("%s of %s: %s", command, file, result.output()).isZero();
        } finally {
            Files.delete(input);
        }
    }
}
