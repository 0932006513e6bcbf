package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.Mode;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.PolicyCompiler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Properties of rendered rulesets over random, partly hostile policies: the platform's accepts come
 * before anything that blocks in both base chains, mode decides what the verdict chains do, and no user
 * text gets in. A sample is checked by the kernel ({@code nft -c}) in a network namespace.
 */
class NftRendererPropertyTest {

    private static final List<String> INPUT_PLATFORM = List.of("platform:loopback", "platform:established", "platform:icmpv6", "platform:management");
    private static final List<String> OUTPUT_PLATFORM = List.of("platform:loopback", "platform:established", "platform:icmpv6",
            "platform:control-plane", "platform:dns");

    @Property(tries = 3000)
    void platformAcceptsComeFirstAndModesDecideTheVerdicts(@ForAll("policies") PolicyDocument policy) {
        CompiledPolicy compiled = PolicyCompiler.compile(policy, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, RandomPolicies.NOW);
        String text = NftRenderer.render(compiled);
        Map<String, List<String>> chains = chains(text);

        assertPlatformFirst(chains.get("input"), INPUT_PLATFORM);
        assertPlatformFirst(chains.get("output"), OUTPUT_PLATFORM);
        assertVerdicts(chains, "in_", policy.mode().inbound(), chains.get("input"));
        assertVerdicts(chains, "out_", policy.mode().outbound(), chains.get("output"));
        assertThat(text).doesNotContain("evil").doesNotContain("flush").doesNotContain(" drop");
        assertThat(IptablesRenderer.render(compiled).combined()).doesNotContain("evil").doesNotContain("DROP").doesNotContain("ACCEPT")
                .doesNotContainPattern("cf_[a-z0-9_]{29,}");
        assertThat(text).startsWith("# Clawfence ruleset").contains("\ntable inet clawfence {}\ndelete table inet clawfence\ntable inet clawfence {\n");
        assertThat(chains.keySet()).allMatch(name -> name.equals("input") || name.equals("output") || name.startsWith("in_") || name.startsWith("out_"));
    }

    /** Every platform accept rule (all of them present: the platform sets are not empty) comes before any goto or reject. */
    private static void assertPlatformFirst(List<String> rules, List<String> platform) {
        assertThat(rules.get(0)).startsWith("type filter hook ").endsWith("priority filter; policy accept;");
        int blockAt = rules.size();
        for (int i = 0; i < rules.size(); i++) {
            if (blocks(rules.get(i))) {
                blockAt = i;
                break;
            }
        }
        int firstBlock = blockAt;
        for (String id : platform) {
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < rules.size(); i++) {
                if (rules.get(i).endsWith("accept comment \"" + id + "\"")) {
                    at.add(i);
                }
            }
            assertThat(at).as("%s in %s", id, rules).isNotEmpty().allMatch(i -> i < firstBlock);
        }
        assertThat(rules.subList(0, firstBlock)).as("rules before the first block").noneMatch(NftRendererPropertyTest::blocks);
    }

    private static void assertVerdicts(Map<String, List<String>> chains, String prefix, Mode mode, List<String> base) {
        List<String> verdictChains = chains.keySet().stream().filter(name -> name.startsWith(prefix)).toList();
        if (mode == Mode.OFF) {
            assertThat(verdictChains).isEmpty();
            assertThat(base).noneMatch(NftRendererPropertyTest::blocks);
            assertThat(base).allMatch(rule -> rule.startsWith("type ") || rule.contains("comment \"platform:"));
            return;
        }
        assertThat(base.get(base.size() - 1)).isEqualTo("counter accept comment \"default\"");
        assertThat(base.get(base.size() - 2)).isEqualTo(logRule(prefix + "a_default", "a", "default"));
        assertThat(verdictChains).contains(prefix + "port_closed");
        for (String name : verdictChains) {
            String reason = name.substring(prefix.length()).replace('_', '-');
            List<String> rules = chains.get(name);
            if (reason.equals("allowlisted") || reason.equals("destination-allowed")) {
                assertThat(rules).containsExactly(logRule(prefix + "a_" + reason.replace('-', '_'), "a", reason),
                        "counter accept comment \"" + reason + "\"");
            } else if (mode == Mode.MONITOR) {
                assertThat(rules).containsExactly(logRule(prefix + "w_" + reason.replace('-', '_'), "w", reason),
                        "counter accept comment \"would-block " + reason + "\"");
            } else {
                assertThat(rules).containsExactly(
                        logRule(prefix + "b_" + reason.replace('-', '_'), "b", reason),
                        "meta l4proto tcp counter reject with tcp reset comment \"" + reason + "\"",
                        "meta l4proto udp counter reject with icmpx port-unreachable comment \"" + reason + "\"",
                        "counter reject with icmpx admin-prohibited comment \"" + reason + "\"");
            }
        }
        // The rate limit may only ever drop a log message: a rule with it decides nothing, and a rule that decides follows it.
        for (List<String> rules : chains.values()) {
            for (int i = 0; i < rules.size(); i++) {
                if (rules.get(i).contains("limit ")) {
                    assertThat(rules.get(i)).doesNotContain("accept").doesNotContain("reject").doesNotContain("goto").doesNotContain("drop");
                    assertThat(i + 1).as("a rule after %s", rules.get(i)).isLessThan(rules.size());
                }
            }
        }
    }

    private static String logRule(String counter, String letter, String reason) {
        return "counter name \"" + counter + "\" limit name \"events\" log prefix \"cf1 " + letter + " - " + reason + "\" group 100";
    }

    private static boolean blocks(String rule) {
        return rule.contains("reject") || rule.contains("goto ") || rule.contains("jump ") || rule.contains("drop");
    }

    /** The rules of each chain, by chain name, from the rendered text. */
    static Map<String, List<String>> chains(String text) {
        Map<String, List<String>> chains = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : text.lines().toList()) {
            String trimmed = line.strip();
            if (trimmed.startsWith("chain ") && trimmed.endsWith("{")) {
                current = new ArrayList<>();
                chains.put(trimmed.substring(6, trimmed.length() - 1).strip(), current);
            } else if (current != null && trimmed.equals("}")) {
                current = null;
            } else if (current != null && !trimmed.isEmpty()) {
                current.add(trimmed);
            }
        }
        return chains;
    }

    @Test
    void nftAcceptsASampleOfRandomRulesets() throws IOException {
        Netns.assumeAvailable();
        Path dir = Files.createTempDirectory("cf-nft-sample");
        try {
            List<PolicyDocument> sample = RandomPolicies.policies().sampleStream().limit(100).toList();
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < sample.size(); i++) {
                CompiledPolicy compiled = PolicyCompiler.compile(sample.get(i), RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, RandomPolicies.NOW);
                String text = NftRenderer.render(compiled);
                Files.writeString(dir.resolve(String.format("%03d.nft", i)), text);
                batch.append(text);
            }
            // Each script replaces the table, so all of them in one file are one valid transaction: one
            // kernel check for the batch; only when it fails is each file checked to name the culprits.
            Path all = Files.writeString(dir.resolve("batch.all"), batch);
            try (Netns ns = Netns.create()) {
                Netns.Result result = ns.check(all);
                if (result.exitCode() != 0) {
                    String script = "for f in " + dir.toAbsolutePath() + "/*.nft; do nft -c -f \"$f\" 2>&1 || echo \"REJECTED $f\"; done";
                    Netns.Result each = ns.exec(List.of("sh", "-c", script));
                    assertThat(each.output()).as("nft -c of each file").doesNotContain("REJECTED");
                    assertThat(result.output()).as("nft -c of the batch").isEmpty();
                }
            }
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
    }

    @Provide
    Arbitrary<PolicyDocument> policies() {
        return RandomPolicies.policies();
    }
}
