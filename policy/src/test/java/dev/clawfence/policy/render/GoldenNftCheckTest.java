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
}
