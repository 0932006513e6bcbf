package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each {@code golden/<case>.json} renders exactly to {@code golden/<case>.nft} (and, for the iptables
 * backend, {@code golden/<case>.iptables}). Run with {@code -Dgolden.update=true} to rewrite them, then
 * review the diff.
 */
class GoldenFilesTest {

    static Stream<Path> cases() throws IOException {
        return GoldenCase.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersTheGoldenFile(Path file) throws IOException {
        GoldenCase golden = GoldenCase.read(file);
        String rendered = NftRenderer.render(golden.compile());
        compare(golden.name() + ".nft", golden.nftFile(), rendered);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersTheIptablesGoldenFile(Path file) throws IOException {
        GoldenCase golden = GoldenCase.read(file);
        compare(golden.name() + ".iptables", golden.iptablesFile(), IptablesRenderer.render(golden.compile()).combined());
    }

    private static void compare(String name, Path expectedFile, String rendered) throws IOException {
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(expectedFile, rendered, StandardCharsets.UTF_8);
            return;
        }
        if (!Files.exists(expectedFile)) {
            fail(expectedFile + " is missing: run with -Dgolden.update=true to create it");
        }
        String expected = Files.readString(expectedFile, StandardCharsets.UTF_8);
        if (!expected.equals(rendered)) {
            fail(name + " differs from the rendering (- golden, + rendered; -Dgolden.update=true rewrites it):\n"
                    + diff(expected.lines().toList(), rendered.lines().toList()));
        }
    }

    @Test
    void thereAreEnoughCases() throws IOException {
        assertThat(GoldenCase.all()).hasSizeGreaterThanOrEqualTo(8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void renderingIsDeterministic(Path file) throws IOException {
        GoldenCase golden = GoldenCase.read(file);
        assertThat(NftRenderer.render(GoldenCase.read(file).compile())).isEqualTo(NftRenderer.render(golden.compile()));
    }

    /** A line diff (longest common subsequence) showing changed lines with two lines of context. */
    static String diff(List<String> expected, List<String> actual) {
        int n = expected.size();
        int m = actual.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = expected.get(i).equals(actual.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        List<String> lines = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && expected.get(i).equals(actual.get(j))) {
                lines.add("  " + expected.get(i));
                i++;
                j++;
            } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
                lines.add("+ " + actual.get(j++));
            } else {
                lines.add("- " + expected.get(i++));
            }
        }
        StringBuilder out = new StringBuilder();
        boolean skipped = false;
        for (int k = 0; k < lines.size(); k++) {
            boolean near = false;
            for (int d = -2; d <= 2; d++) {
                int at = k + d;
                near |= at >= 0 && at < lines.size() && !lines.get(at).startsWith("  ");
            }
            if (near) {
                out.append(String.format("%4d %s%n", k + 1, lines.get(k)));
                skipped = false;
            } else if (!skipped) {
                out.append("     ...\n");
                skipped = true;
            }
        }
        return out.toString();
    }
}
