package dev.clawfence.agent.enforce.iptables;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.render.EventLogging;
import dev.clawfence.policy.render.IptablesRenderer;
import dev.clawfence.policy.render.IptablesRuleset;
import dev.clawfence.policy.render.LogDecision;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.Set;
import java.util.TreeSet;

/**
 * Enforces with iptables and ipset for hosts without nftables: {@code ipset -exist restore}, then
 * {@code iptables-restore --noflush} and {@code ip6tables-restore --noflush} of the agent's own chains
 (each checked first with {@code --test}, after the sets), then the jumps {@code -I INPUT 1 -j CLAWFENCE-IN} and
 * {@code -I OUTPUT 1 -j CLAWFENCE-OUT}, added only when missing. Unlike nftables this is not one
 * transaction across sets and both families (see {@link IptablesRenderer}); a refusal found by the
 * checks leaves everything as it was. Drift is a change in the chains, a missing jump or a missing set.
 */
public final class IptablesEnforcer implements Enforcer {

    static final List<String> TOOLS = List.of("iptables", "ip6tables");
    static final List<String> CHAINS = List.of("CLAWFENCE-IN", "CLAWFENCE-OUT");
    private static final String SET_PREFIX = "cf_";

    /** A rule of {@code iptables -L <chain> -v -x -n}: packets, bytes, ..., and the comment. */
    private static final Pattern COUNTED_RULE = Pattern.compile("^\\s*(\\d+)\\s+\\d+\\s.*/\\* (.+?) \\*/.*$");

    private final CommandRunner runner;
    private final EventLogging logging;
    private String appliedSnapshot;
    private IptablesRuleset lastLoaded;

    public IptablesEnforcer(CommandRunner runner) {
        this(runner, EventLogging.DEFAULT);
    }

    public IptablesEnforcer(CommandRunner runner, EventLogging logging) {
        this.runner = runner;
        this.logging = logging;
    }

    @Override
    public String backend() {
        return "iptables";
    }

    @Override
    public AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
        IptablesRuleset rules = EnforceException.rendering(backend(), compiled -> IptablesRenderer.render(compiled, logging), policy);
        AppliedRuleset ruleset = AppliedRuleset.of(backend(), rules.combined());
        load(rules);
        return ruleset;
    }

    @Override
    public void restore(AppliedRuleset previous) throws EnforceException {
        if (previous == null) {
            remove();
            return;
        }
        load(split(previous.text()));
    }

    private void load(IptablesRuleset rules) throws EnforceException {
        // The chain texts can only be checked once their sets exist, so the sets go first; when a chain
        // text is refused, the previous sets' content is put back, so nothing changes in effect.
        expect(List.of("ipset", "-exist", "restore"), rules.ipset(), "ipset restore failed");
        try {
            expect(List.of("iptables-restore", "--test", "--noflush"), rules.iptables(), "iptables-restore refused the IPv4 rules");
            expect(List.of("ip6tables-restore", "--test", "--noflush"), rules.ip6tables(), "ip6tables-restore refused the IPv6 rules");
        } catch (EnforceException refused) {
            if (lastLoaded != null) {
                run(List.of("ipset", "-exist", "restore"), lastLoaded.ipset());
            }
            throw refused;
        }
        expect(List.of("iptables-restore", "--noflush"), rules.iptables(), "iptables-restore failed");
        expect(List.of("ip6tables-restore", "--noflush"), rules.ip6tables(), "ip6tables-restore failed");
        for (String tool : TOOLS) {
            hook(tool, "INPUT", "CLAWFENCE-IN");
            hook(tool, "OUTPUT", "CLAWFENCE-OUT");
        }
        // Sets the new chains no longer use would linger: drop them (a set still referenced refuses).
        Set<String> wanted = new TreeSet<>();
        rules.ipset().lines().filter(line -> line.startsWith("create ")).forEach(line -> wanted.add(line.split(" ")[1]));
        for (String set : sets()) {
            if (!wanted.contains(set)) {
                run(List.of("ipset", "destroy", set), null);
            }
        }
        appliedSnapshot = snapshot();
        lastLoaded = rules;
    }

    private void hook(String tool, String builtin, String chain) throws EnforceException {
        if (!run(List.of(tool, "-C", builtin, "-j", chain), null).ok()) {
            expect(List.of(tool, "-I", builtin, "1", "-j", chain), null, tool + " cannot hook " + chain + " into " + builtin);
        }
    }

    @Override
    public Optional<String> checkDrift() throws EnforceException {
        if (appliedSnapshot == null) {
            return Optional.empty();
        }
        String now = snapshot();
        if (now.equals(appliedSnapshot)) {
            return Optional.empty();
        }
        List<String> expected = appliedSnapshot.lines().toList();
        List<String> actual = now.lines().toList();
        List<String> missing = expected.stream().filter(line -> !actual.contains(line)).limit(3).toList();
        List<String> extra = actual.stream().filter(line -> !expected.contains(line)).limit(3).toList();
        return Optional.of("the Clawfence chains, jumps or sets changed: missing " + missing + ", unexpected " + extra);
    }

    /** The chains' rules, whether each jump exists, and the names of the agent's sets. */
    private String snapshot() throws EnforceException {
        StringBuilder out = new StringBuilder();
        for (String tool : TOOLS) {
            for (String chain : CHAINS) {
                CommandRunner.Result rules = run(List.of(tool, "-S", chain), null);
                out.append(tool).append(' ').append(chain).append(rules.ok() ? "" : " missing").append('\n');
                rules.stdout().lines().forEach(line -> out.append(tool).append(' ').append(line).append('\n'));
            }
            for (String[] jump : new String[][] {{"INPUT", "CLAWFENCE-IN"}, {"OUTPUT", "CLAWFENCE-OUT"}}) {
                boolean hooked = run(List.of(tool, "-C", jump[0], "-j", jump[1]), null).ok();
                out.append(tool).append(" jump ").append(jump[0]).append(" -> ").append(jump[1]).append(hooked ? "" : " missing").append('\n');
            }
        }
        for (String set : sets()) {
            out.append("ipset ").append(set).append('\n');
        }
        return out.toString();
    }

    private Set<String> sets() throws EnforceException {
        CommandRunner.Result names = run(List.of("ipset", "list", "-n"), null);
        Set<String> sets = new TreeSet<>();
        if (names.ok()) {
            names.stdout().lines().map(String::strip).filter(name -> name.startsWith(SET_PREFIX)).forEach(sets::add);
        }
        return sets;
    }

    @Override
    public void remove() throws EnforceException {
        List<String> problems = new ArrayList<>();
        for (String tool : TOOLS) {
            for (String[] jump : new String[][] {{"INPUT", "CLAWFENCE-IN"}, {"OUTPUT", "CLAWFENCE-OUT"}}) {
                // A jump may have been added twice by hand; remove every copy.
                for (int i = 0; i < 16 && run(List.of(tool, "-C", jump[0], "-j", jump[1]), null).ok(); i++) {
                    run(List.of(tool, "-D", jump[0], "-j", jump[1]), null);
                }
            }
            for (String chain : CHAINS) {
                if (run(List.of(tool, "-S", chain), null).ok()) {
                    run(List.of(tool, "-F", chain), null);
                    CommandRunner.Result deleted = run(List.of(tool, "-X", chain), null);
                    if (!deleted.ok()) {
                        problems.add(tool + " -X " + chain + ": " + deleted.reason());
                    }
                }
            }
        }
        for (String set : sets()) {
            CommandRunner.Result destroyed = run(List.of("ipset", "destroy", set), null);
            if (!destroyed.ok()) {
                problems.add("ipset destroy " + set + ": " + destroyed.reason());
            }
        }
        appliedSnapshot = null;
        lastLoaded = null;
        if (!problems.isEmpty()) {
            throw new EnforceException("could not remove everything: " + String.join("; ", problems));
        }
    }

    /**
     * Sums the packet counts of the decision rules of both chains in both families, by comment (the
     * log rules before them carry none): iptables has no named counters, and every attempt that reaches
     * a decision passes exactly one decision rule.
     */
    @Override
    public Map<LogDecision, Long> counters() throws EnforceException {
        if (appliedSnapshot == null) {
            return Map.of();
        }
        Map<LogDecision, Long> counters = new LinkedHashMap<>();
        for (String tool : TOOLS) {
            for (String chain : CHAINS) {
                CommandRunner.Result listing = run(List.of(tool, "-L", chain, "-v", "-x", "-n"), null);
                if (listing.ok()) {
                    addCounters(chain.equals("CLAWFENCE-IN") ? Direction.INBOUND : Direction.OUTBOUND, listing.stdout(), counters);
                }
            }
        }
        return counters;
    }

    public static void addCounters(Direction direction, String listing, Map<LogDecision, Long> counters) {
        for (String line : listing.lines().toList()) {
            Matcher matcher = COUNTED_RULE.matcher(line);
            if (!matcher.matches()) {
                continue;
            }
            decision(direction, matcher.group(2)).ifPresent(decision -> counters.merge(decision, Long.parseLong(matcher.group(1)), Long::sum));
        }
    }

    /** What a decision rule's comment says: {@code allowlisted}, {@code port-closed}, {@code would-block geo}; platform rules are none. */
    static Optional<LogDecision> decision(Direction direction, String comment) {
        boolean wouldBlock = comment.startsWith("would-block ");
        String wire = wouldBlock ? comment.substring("would-block ".length()) : comment;
        for (Reason reason : Reason.values()) {
            if (reason.wireName().equals(wire) && reason != Reason.PLATFORM && reason != Reason.MODE_OFF) {
                boolean allows = reason == Reason.ALLOWLISTED || reason == Reason.DESTINATION_ALLOWED || reason == Reason.DEFAULT;
                Verdict verdict = allows ? Verdict.ALLOWED : wouldBlock ? Verdict.WOULD_BLOCK : Verdict.BLOCKED;
                return Optional.of(new LogDecision(direction, verdict, reason));
            }
        }
        return Optional.empty();
    }

    /** The three texts back from {@link IptablesRuleset#combined()}. */
    static IptablesRuleset split(String combined) throws EnforceException {
        String[] markers = {"### ipset -exist restore\n", "### iptables-restore --noflush\n", "### ip6tables-restore --noflush\n"};
        int a = combined.indexOf(markers[0]);
        int b = combined.indexOf(markers[1]);
        int c = combined.indexOf(markers[2]);
        if (a != 0 || b < a || c < b) {
            throw new EnforceException("the stored iptables ruleset is not in the combined form");
        }
        return new IptablesRuleset(combined.substring(markers[0].length(), b), combined.substring(b + markers[1].length(), c),
                combined.substring(c + markers[2].length()));
    }

    private void expect(List<String> command, String stdin, String what) throws EnforceException {
        CommandRunner.Result result = run(command, stdin);
        if (!result.ok()) {
            throw new EnforceException(what + ": " + result.reason());
        }
    }

    private CommandRunner.Result run(List<String> command, String stdin) throws EnforceException {
        try {
            return runner.run(command, stdin);
        } catch (IOException e) {
            throw new EnforceException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        }
    }
}
