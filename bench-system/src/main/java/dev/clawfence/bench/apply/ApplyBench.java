package dev.clawfence.bench.apply;

import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Validated;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.policy.render.NftRenderer;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Apply time of a policy whose geo set holds {@code --cidrs} IPv4 CIDRs, as the agent does it for a new
 * version (protobuf bytes → {@link PolicyWire} → {@link CompiledPolicy} → {@link NftablesEnforcer#apply}:
 * render, nft, listing for drift), against references measured in the same run, in two namespaces this
 * command creates ({@code ab-apply-*} for the agent, {@code ab-ref-*} for the references) and deletes.
 *
 * <p>Each round: the agent's table is deleted (not timed) and version 1 applied ("first apply"), then
 * version 2 (one allowlist entry changed, the large set unchanged), then version 3 (one geo CIDR
 * changed). References in the same round: {@code nft -f} of a file holding only a table with an interval
 * set of the same elements (loaded fresh), {@code nft -f} and {@code nft -c -f} of the agent's exact
 * rendered file, {@code nft -s list table} of it, and an {@code nft -f} of a two-line element delta
 * (delete one CIDR, add another), i.e. what an incremental update through the nft tool would cost.
 */
@Command(name = "apply", mixinStandardHelpOptions = true, description = "Policy apply time with a large set vs a bare nft -f of the same set.")
final class ApplyBench implements Callable<Integer> {

    @Option(names = "--cidrs", defaultValue = "100000", description = "CIDRs in the geo set (default ${DEFAULT-VALUE})")
    int cidrs;

    @Option(names = "--rounds", defaultValue = "9", description = "measured rounds (default ${DEFAULT-VALUE}); one more warms up first")
    int rounds;

    @Option(names = "--seed", defaultValue = "3", description = "random seed of the CIDRs (default ${DEFAULT-VALUE})")
    long seed;

    private static final String BARE = "reference: nft -f bare set (fresh table)";
    private static final List<String> VARIANTS = List.of("first apply (no table before)", "re-apply, large set unchanged", "re-apply, one CIDR changed");
    private static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");
    private static final PlatformRules PLATFORM = new PlatformRules(List.of("192.0.2.0/28"), List.of("192.0.2.100/32"), List.of("192.0.2.53/32"));

    @Override
    public Integer call() throws Exception {
        List<String> blocks = blocks(cidrs, seed);
        List<String> changed = new ArrayList<>(blocks);
        int victim = blocks.size() / 2;
        changed.set(victim, neighbour(blocks.get(victim)));

        CompiledPolicy v1 = compile(blocks, "198.51.100.0/26");
        CompiledPolicy v2 = compile(blocks, "198.51.100.64/26");
        CompiledPolicy v3 = compile(changed, "198.51.100.64/26");
        byte[] wire1 = PolicyWire.toWire(1, v1).toByteArray();
        byte[] wire2 = PolicyWire.toWire(2, v2).toByteArray();
        byte[] wire3 = PolicyWire.toWire(3, v3).toByteArray();
        if (!v1.inbound().geo4().hash().equals(v2.inbound().geo4().hash()) || v2.inbound().geo4().hash().equals(v3.inbound().geo4().hash())) {
            throw new IllegalStateException("the versions do not differ as intended");
        }
        int elements = v1.inbound().geo4().elements().size();

        Path dir = Files.createTempDirectory("ab-apply");
        Path bare = dir.resolve("bare.nft");
        Files.writeString(bare, bareSet(v1.inbound().geo4()));
        String agentScript = NftRenderer.render(v1);
        Path agentFile = dir.resolve("agent.nft");
        Files.writeString(agentFile, agentScript);
        Path delta = dir.resolve("delta.nft");
        Files.writeString(delta, "delete element inet " + NftRenderer.TABLE + " geo4 { " + blocks.get(victim) + " }\n"
                + "add element inet " + NftRenderer.TABLE + " geo4 { " + changed.get(victim) + " }\n");

        Map<String, Samples> samples = new LinkedHashMap<>();
        Map<String, Samples> ratios = new LinkedHashMap<>();
        System.out.printf(Locale.ROOT, "apply bench: %d CIDRs -> %d set elements; agent file %d lines, %d bytes; %d rounds + 1 warm-up%n",
                blocks.size(), elements, agentScript.lines().count(), agentScript.length(), rounds);
        try (Namespace agentNs = Namespace.create("apply"); Namespace refNs = Namespace.create("ref")) {
            TimingRunner runner = new TimingRunner(CommandRunner.inNamespace(agentNs.name()));
            CommandRunner ref = CommandRunner.inNamespace(refNs.name());
            NftablesEnforcer enforcer = new NftablesEnforcer(runner);
            for (int round = 0; round <= rounds; round++) {
                boolean measured = round > 0;
                Map<String, Long> r = new LinkedHashMap<>();

                ok(ref.run(List.of("nft", "-f", "-"), "table inet abref {}\ndelete table inet abref\n"), "clearing abref");
                r.put(BARE, timed(ref, List.of("nft", "-f", bare.toString())));
                ok(ref.run(List.of("nft", "-f", "-"), "table inet abref {}\ndelete table inet abref\n"), "clearing abref");
                ok(ref.run(List.of("nft", "-f", "-"), "table inet clawfence {}\ndelete table inet clawfence\n"), "clearing ref clawfence");
                r.put("reference: nft -f agent file (no table before)", timed(ref, List.of("nft", "-f", agentFile.toString())));
                r.put("reference: nft -f agent file (replacing itself)", timed(ref, List.of("nft", "-f", agentFile.toString())));
                r.put("reference: nft -c -f agent file", timed(ref, List.of("nft", "-c", "-f", agentFile.toString())));
                r.put("reference: nft -s list table (agent table)", timed(ref, List.of("nft", "-s", "list", "table", "inet", NftRenderer.TABLE)));
                r.put("reference: nft -f 2-line element delta", timed(ref, List.of("nft", "-f", delta.toString())));

                enforcer.remove();
                applyTimed(enforcer, runner, wire1, "first apply (no table before)", r);
                applyTimed(enforcer, runner, wire2, "re-apply, large set unchanged", r);
                applyTimed(enforcer, runner, wire3, "re-apply, one CIDR changed", r);
                if (measured) {
                    r.forEach((name, nanos) -> samples.computeIfAbsent(name, Samples::new).addNanos(nanos));
                    // Paired within the round: the load on this shared machine moves between rounds.
                    long bareNanos = r.get(BARE);
                    for (String variant : VARIANTS) {
                        ratios.computeIfAbsent(variant, v -> new Samples("ratio " + v + " / bare set, same round"))
                                .add((double) r.get(variant + ": apply") / bareNanos);
                    }
                }
                System.out.printf(Locale.ROOT, "round %d%s: %s%n", round, measured ? "" : " (warm-up)", compact(r));
            }
            verifyEnforced(agentNs, changed.get(victim));
        } finally {
            for (Path file : List.of(bare, agentFile, delta, dir)) {
                Files.deleteIfExists(file);
            }
        }
        System.out.println();
        System.out.println(Samples.header());
        samples.values().forEach(s -> System.out.println(s.row()));
        double bareMedian = samples.get(BARE).median();
        double agentFileMedian = samples.get("reference: nft -f agent file (no table before)").median();
        System.out.println();
        System.out.println(Samples.header().replace(" ms", ""));
        ratios.values().forEach(s -> System.out.println(s.ratioRow()));
        System.out.println();
        for (String variant : VARIANTS) {
            double apply = samples.get(variant + ": apply").median();
            System.out.printf(Locale.ROOT, "ratio of medians %s: / bare set %.2f, / agent file %.2f%n", variant, apply / bareMedian, apply / agentFileMedian);
        }
        return 0;
    }

    /**
     * One version as the agent applies it: parse the bytes, resolve and check the sets, build the
     * compiled policy, then {@link NftablesEnforcer#apply}. "apply" ends when the kernel has the new
     * ruleset (the enforcer's nft -f has returned); the drift listing that the enforcer takes afterwards
     * is reported on its own and in "apply + listing".
     */
    private static void applyTimed(NftablesEnforcer enforcer, TimingRunner runner, byte[] wire, String variant, Map<String, Long> r) throws Exception {
        runner.reset();
        long start = System.nanoTime();
        PolicyUpdate update = PolicyUpdate.parseFrom(wire);
        CompiledPolicy policy = PolicyWire.toDomain(PolicyWire.complete(update, hash -> Optional.empty()));
        long decoded = System.nanoTime();
        enforcer.apply(policy);
        long end = System.nanoTime();
        long listing = runner.total("list");
        r.put(variant + ": wire -> compiled policy", decoded - start);
        r.put(variant + ": render + ruleset hash (JVM time outside nft)", end - decoded - runner.total(null));
        if (runner.total("-c") > 0) {
            r.put(variant + ": nft -c", runner.total("-c"));
        }
        r.put(variant + ": nft -f", runner.total("-f"));
        r.put(variant + ": apply", end - start - listing);
        r.put(variant + ": drift listing", listing);
        r.put(variant + ": apply + listing", end - start);
    }

    private static void verifyEnforced(Namespace ns, String element) throws IOException {
        Namespace.Result set = Namespace.check(ns.exec(List.of("nft", "list", "set", "inet", NftRenderer.TABLE, "geo4")), "nft list set");
        if (!set.output().contains(element.endsWith("/32") ? element.substring(0, element.length() - 3) : element)) {
            throw new IllegalStateException("the last version is not in the kernel: " + element + " missing from geo4");
        }
        System.out.println("checked: the kernel's geo4 set holds the changed CIDR " + element);
    }

    private static CompiledPolicy compile(List<String> geo, String allowlisted) {
        Map<String, Object> tree = Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "off"),
                "inbound", Map.of(
                        "allowlist", List.of(Map.of("id", "in-office", "cidr", allowlisted, "description", "Office", "requestedBy", "bench@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "HTTPS")),
                        "geo", Map.of("mode", "block", "countries", List.of("FR"))));
        Validated<PolicyDocument> validated = PolicyValidator.validate(tree, NOW);
        if (!validated.isValid()) {
            throw new IllegalStateException("benchmark policy invalid: " + validated.errors());
        }
        return PolicyCompiler.compile(validated.value(), PLATFORM, CountryRanges.of(Map.of("FR", geo)), NOW);
    }

    /**
     * {@code count} disjoint, non-adjacent IPv4 blocks (/22 to /32), one in each of {@code count} equal
     * slices of the address space, so merging keeps every one as its own element. Used as data only.
     */
    static List<String> blocks(int count, long seed) {
        Random random = new Random(seed);
        long slice = (1L << 32) / count;
        List<String> blocks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int prefix = 22 + random.nextInt(11);
            long size = 1L << (32 - prefix);
            long base = i * slice;
            // Leave at least one block's room at both ends of the slice: never adjacent to a neighbour.
            long slots = (slice - 2 * size) / size;
            long start = ((base + size - 1) / size + 1 + (slots > 1 ? random.nextLong(slots - 1) : 0)) * size;
            blocks.add(ipv4(start) + "/" + prefix);
        }
        return blocks;
    }

    /** A block of the same size right after {@code cidr}'s next neighbour (still inside its slice). */
    private static String neighbour(String cidr) {
        String[] parts = cidr.split("/");
        int prefix = Integer.parseInt(parts[1]);
        long size = 1L << (32 - prefix);
        long start = 0;
        for (String octet : parts[0].split("\\.")) {
            start = start << 8 | Integer.parseInt(octet);
        }
        return ipv4(start - 2 * size) + "/" + prefix;
    }

    private static String ipv4(long value) {
        return (value >>> 24 & 255) + "." + (value >>> 16 & 255) + "." + (value >>> 8 & 255) + "." + (value & 255);
    }

    private static String bareSet(CompiledSet<?> set) {
        StringBuilder out = new StringBuilder("table inet abref {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n");
        List<?> elements = set.elements();
        for (int i = 0; i < elements.size(); i++) {
            out.append("\t\t\t").append((AddressRange) elements.get(i)).append(i + 1 < elements.size() ? ",\n" : "\n");
        }
        return out.append("\t\t}\n\t}\n}\n").toString();
    }

    private static long timed(CommandRunner runner, List<String> command) throws IOException {
        long start = System.nanoTime();
        CommandRunner.Result result = runner.run(command);
        long nanos = System.nanoTime() - start;
        ok(result, String.join(" ", command));
        return nanos;
    }

    private static void ok(CommandRunner.Result result, String what) throws IOException {
        if (!result.ok()) {
            throw new IOException(what + " failed: " + result.reason());
        }
    }

    private static String compact(Map<String, Long> r) {
        StringBuilder out = new StringBuilder();
        r.forEach((name, nanos) -> {
            if (!name.contains(": ") || name.endsWith(": apply") || name.startsWith("reference")) {
                out.append(out.isEmpty() ? "" : ", ").append(name.replace("reference: ", "")).append(' ').append(nanos / 1_000_000).append(" ms");
            }
        });
        return out.toString();
    }

    /** Times every command it runs, by kind ({@code -c}, {@code -f}, {@code list}). */
    static final class TimingRunner implements CommandRunner {
        private final CommandRunner delegate;
        private final Map<String, Long> nanos = new LinkedHashMap<>();

        TimingRunner(CommandRunner delegate) {
            this.delegate = delegate;
        }

        void reset() {
            nanos.clear();
        }

        /** Time spent in commands of {@code kind}, or in every command for null. */
        long total(String kind) {
            return kind == null ? nanos.values().stream().mapToLong(Long::longValue).sum() : nanos.getOrDefault(kind, 0L);
        }

        @Override
        public Result run(List<String> command, String stdin) throws IOException {
            String kind = command.contains("list") ? "list" : command.contains("-c") ? "-c" : "-f";
            long start = System.nanoTime();
            try {
                return delegate.run(command, stdin);
            } finally {
                nanos.merge(kind, System.nanoTime() - start, Long::sum);
            }
        }
    }
}
