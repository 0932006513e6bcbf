package dev.clawfence.policy.render;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Problem;
import dev.clawfence.policy.Validated;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One golden case, {@code golden/<case>.json}: {@code now} (compile time), optionally {@code savedAt} (when the
 * policy was validated; defaults to {@code now}), {@code platform} ({@code management},
 * {@code controlPlane}, {@code dns}), {@code countries} (code to CIDRs) and {@code policy} (the document
 * as the web panel sends it, read by {@link PolicyValidator}); its rendering is pinned in
 * {@code golden/<case>.nft}.
 */
record GoldenCase(String name, PolicyDocument policy, PlatformRules platform, CountryRanges countries, Instant now) {

    /** The golden directory in the source tree (surefire runs in the module directory). */
    static final Path DIRECTORY = Path.of("src", "test", "resources", "golden");

    private static final ObjectMapper JSON = new ObjectMapper();

    static List<Path> all() throws IOException {
        try (Stream<Path> files = Files.list(DIRECTORY)) {
            return files.filter(file -> file.getFileName().toString().endsWith(".json")).sorted().toList();
        }
    }

    @SuppressWarnings("unchecked")
    static GoldenCase read(Path file) throws IOException {
        Map<String, Object> tree = JSON.readValue(file.toFile(), Map.class);
        Instant now = Instant.parse((String) tree.get("now"));
        Map<String, List<String>> platform = (Map<String, List<String>>) tree.getOrDefault("platform", Map.of());
        Map<String, List<String>> countries = (Map<String, List<String>>) tree.getOrDefault("countries", Map.of());
        // A case may be validated (saved) earlier than it is compiled, so that entries have expired by "now".
        Instant savedAt = tree.containsKey("savedAt") ? Instant.parse((String) tree.get("savedAt")) : now;
        Validated<PolicyDocument> policy = PolicyValidator.validate(tree.get("policy"), savedAt);
        if (!policy.isValid()) {
            throw new IllegalArgumentException(file + ": " + policy.errors().stream().map(Problem::toString).collect(Collectors.joining("; ")));
        }
        String name = file.getFileName().toString().replaceFirst("\\.json$", "");
        return new GoldenCase(name, policy.value(),
                new PlatformRules(platform.getOrDefault("management", List.of()), platform.getOrDefault("controlPlane", List.of()),
                        platform.getOrDefault("dns", List.of())),
                CountryRanges.of(countries), now);
    }

    CompiledPolicy compile() {
        return PolicyCompiler.compile(policy, platform, countries, now);
    }

    Path iptablesFile() {
        return DIRECTORY.resolve(name + ".iptables");
    }

    Path nftFile() {
        return DIRECTORY.resolve(name + ".nft");
    }
}
