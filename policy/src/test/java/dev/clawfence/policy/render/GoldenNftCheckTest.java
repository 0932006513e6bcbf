package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every golden .nft file is accepted by the kernel: {@code nft -c -f} in a fresh network namespace
 * (checked, never applied). Needs root, ip and nft; skipped with a printed reason without them, failing
 * instead under {@code CI=true}.
 */
class GoldenNftCheckTest {

    @Test
    void nftAcceptsEveryGoldenFile() throws IOException {
        Netns.assumeAvailable();
        List<String> failures = new ArrayList<>();
        List<Path> cases = GoldenCase.all();
        try (Netns ns = Netns.create()) {
            for (Path json : cases) {
                Path nft = GoldenCase.DIRECTORY.resolve(json.getFileName().toString().replaceFirst("\\.json$", ".nft"));
                Netns.Result result = ns.check(nft);
                if (result.exitCode() != 0) {
                    failures.add(nft + ":\n" + result.output());
                }
            }
        }
        assertThat(failures).as("nft -c -f rejected golden files").isEmpty();
        assertThat(cases).isNotEmpty();
    }

    /**
     * Applied for real one after another in one namespace, each golden replaces the table whether it
     * exists yet or not, and leaves every other table alone (the agent owns only inet clawfence).
     */
    @Test
    void eachGoldenReplacesOnlyTheClawfenceTable() throws IOException {
        Netns.assumeAvailable();
        try (Netns ns = Netns.create()) {
            Netns.Result other = ns.exec(List.of("nft", "add table inet other; add chain inet other keep { type filter hook input priority 10; policy accept; }"));
            assertThat(other.exitCode()).as(other.output()).isZero();
            for (Path json : GoldenCase.all()) {
                Path nft = GoldenCase.DIRECTORY.resolve(json.getFileName().toString().replaceFirst("\\.json$", ".nft"));
                Netns.Result applied = ns.exec(List.of("nft", "-f", nft.toAbsolutePath().toString()));
                assertThat(applied.exitCode()).as("%s: %s", nft, applied.output()).isZero();
                Netns.Result tables = ns.exec(List.of("nft", "list", "tables"));
                assertThat(tables.output().lines().toList()).containsExactlyInAnyOrder("table inet other", "table inet clawfence");
                Netns.Result chains = ns.exec(List.of("nft", "list", "chain", "inet", "clawfence", "input"));
                assertThat(chains.exitCode()).as(chains.output()).isZero();
            }
            Netns.Result kept = ns.exec(List.of("nft", "list", "chain", "inet", "other", "keep"));
            assertThat(kept.exitCode()).as(kept.output()).isZero();
        }
    }
}
