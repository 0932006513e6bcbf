package dev.clawfence.agent.enforce.nftables;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.EventLogging;
import dev.clawfence.policy.render.LogDecision;
import dev.clawfence.policy.render.NftRenderer;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Enforces with nftables: the policy is rendered by {@link NftRenderer} into one script that replaces
 * table {@code inet clawfence} and is applied with one {@code nft -f} (from standard input), so the kernel
 * swaps the whole table in one transaction or, when nft or the kernel refuses any line of the script,
 * keeps the previous one. Drift is any difference between {@code nft -s list table inet clawfence} and the
 * listing taken right after the last apply, or the table being gone.
 *
 * <p>There is no separate {@code nft -c} pass: it would parse and send the same batch to the kernel a
 * second time (about 0.6 s, 40 % of the apply time, for a 100,000-CIDR set, BENCHMARKS.md), and it
 * protects nothing that the transaction does not: nft sends the whole script as one netlink batch and a
 * refused batch is rolled back whole, wherever in the script the refused line is (EnforcerIT and
 * NftablesApplyIT show the previous table intact after a refusal at the start and at the end).
 */
public final class NftablesEnforcer implements Enforcer {

    static final String TABLE = "inet " + NftRenderer.TABLE;

    private final CommandRunner runner;
    private final EventLogging logging;
    private String appliedListing;
    /** Why the listing right after the last apply failed; null when it succeeded. */
    private String unlisted;

    public NftablesEnforcer(CommandRunner runner) {
        this(runner, EventLogging.DEFAULT);
    }

    public NftablesEnforcer(CommandRunner runner, EventLogging logging) {
        this.runner = runner;
        this.logging = logging;
    }

    /** Whether {@code nft} can be run here ({@code nft --version} succeeds); the version line, or empty. */
    public static Optional<String> version(CommandRunner runner) {
        try {
            CommandRunner.Result result = runner.run(List.of("nft", "--version"));
            return result.ok() ? Optional.of(result.stdout().strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public String backend() {
        return "nftables";
    }

    @Override
    public AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
        String script = EnforceException.rendering(backend(), compiled -> NftRenderer.render(compiled, logging), policy);
        AppliedRuleset ruleset = AppliedRuleset.of(backend(), script);
        load(ruleset);
        return ruleset;
    }

    @Override
    public void restore(AppliedRuleset previous) throws EnforceException {
        if (previous == null) {
            remove();
            return;
        }
        load(previous);
    }

    private void load(AppliedRuleset ruleset) throws EnforceException {
        CommandRunner.Result applied = run(List.of("nft", "-f", "/dev/stdin"), ruleset.text());
        if (!applied.ok()) {
            throw new EnforceException("nft -f failed, the previous table stays in force: " + applied.reason());
        }
        CommandRunner.Result listing = run(List.of("nft", "-s", "list", "table", "inet", NftRenderer.TABLE), null);
        if (!listing.ok()) {
            // The kernel took the ruleset, so it is applied; someone changed the table in between (a
            // hand-made "nft delete table" raced with this apply in the system test). Failing here would
            // make the agent keep the previous version as current and put that back at the next drift
            // check; instead the next drift check reports this and restores the ruleset just applied.
            appliedListing = "";
            unlisted = listing.reason();
            return;
        }
        appliedListing = listing.stdout();
        unlisted = null;
    }

    @Override
    public Optional<String> checkDrift() throws EnforceException {
        if (appliedListing == null) {
            return Optional.empty();
        }
        if (unlisted != null) {
            return Optional.of("table " + TABLE + " could not be listed right after it was applied (" + unlisted + ")");
        }
        CommandRunner.Result listing = run(List.of("nft", "-s", "list", "table", "inet", NftRenderer.TABLE), null);
        if (!listing.ok()) {
            return Optional.of("table " + TABLE + " is missing (" + listing.reason() + ")");
        }
        if (!listing.stdout().equals(appliedListing)) {
            return Optional.of("table " + TABLE + " differs from the applied ruleset: " + difference(appliedListing, listing.stdout()));
        }
        return Optional.empty();
    }

    @Override
    public void remove() throws EnforceException {
        // "table … {}" first makes the delete succeed whether or not the table exists, in one transaction.
        String script = "table " + TABLE + " {}\ndelete table " + TABLE + "\n";
        CommandRunner.Result result = run(List.of("nft", "-f", "/dev/stdin"), script);
        if (!result.ok()) {
            throw new EnforceException("cannot delete table " + TABLE + ": " + result.reason());
        }
        appliedListing = null;
        unlisted = null;
    }

    /**
     * Reads the named counters over netlink ({@link NftCounterReader}); where that fails, with
     * {@code nft -j list counters table inet clawfence}, which costs seconds with a large set. The table
     * missing reads as no counters.
     */
    @Override
    public Map<LogDecision, Long> counters() throws EnforceException {
        if (appliedListing == null) {
            return Map.of();
        }
        try {
            Map<LogDecision, Long> counters = new LinkedHashMap<>();
            NftCounterReader.read(runner.namespace(), NftRenderer.TABLE).forEach((name, packets) ->
                    LogDecision.ofCounterName(name).ifPresent(decision -> counters.merge(decision, packets, Long::sum)));
            return counters;
        } catch (IOException | RuntimeException e) {
            // fall through to nft
        }
        CommandRunner.Result listing = run(List.of("nft", "-j", "list", "counters", "table", "inet", NftRenderer.TABLE), null);
        if (!listing.ok()) {
            return Map.of();
        }
        return parseCounters(listing.stdout());
    }

    /**
     * The decision counters in {@code nft -j} output: {@code {"nftables": [{"counter": {"name": ..., "packets": ...}}, ...]}}.
     * JSON is YAML, so the YAML parser the agent already carries reads it.
     */
    public static Map<LogDecision, Long> parseCounters(String json) throws EnforceException {
        Object root;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setMaxAliasesForCollections(0);
            root = new Yaml(new SafeConstructor(options)).load(json);
        } catch (YAMLException e) {
            throw new EnforceException("nft -j list counters: not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!(root instanceof Map<?, ?> top) || !(top.get("nftables") instanceof List<?> items)) {
            throw new EnforceException("nft -j list counters: no \"nftables\" array");
        }
        Map<LogDecision, Long> counters = new LinkedHashMap<>();
        for (Object item : items) {
            if (item instanceof Map<?, ?> wrapper && wrapper.get("counter") instanceof Map<?, ?> counter
                    && counter.get("name") instanceof String name && counter.get("packets") instanceof Number packets) {
                LogDecision.ofCounterName(name).ifPresent(decision -> counters.merge(decision, packets.longValue(), Long::sum));
            }
        }
        return counters;
    }

    /** The first line that differs, for a drift report; never the whole table. */
    static String difference(String expected, String actual) {
        List<String> a = expected.lines().toList();
        List<String> b = actual.lines().toList();
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            String left = i < a.size() ? a.get(i).strip() : "(nothing)";
            String right = i < b.size() ? b.get(i).strip() : "(nothing)";
            if (!left.equals(right)) {
                return "line " + (i + 1) + " expected \"" + shorten(left) + "\", found \"" + shorten(right) + "\" ("
                        + a.size() + " lines applied, " + b.size() + " now)";
            }
        }
        return "whitespace only";
    }

    private static String shorten(String line) {
        return line.length() <= 120 ? line : line.substring(0, 117) + "...";
    }

    private CommandRunner.Result run(List<String> command, String stdin) throws EnforceException {
        try {
            return runner.run(command, stdin);
        } catch (IOException e) {
            throw new EnforceException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        }
    }
}
