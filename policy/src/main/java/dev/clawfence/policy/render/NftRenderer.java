package dev.clawfence.policy.render;

import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.Box;
import dev.clawfence.policy.compile.CompiledInbound;
import dev.clawfence.policy.compile.CompiledOutbound;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.PlatformSets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Renders a compiled policy as one nftables script that replaces table {@code inet clawfence} atomically
 * with a single {@code nft -f}: {@code table inet clawfence {}} (creates the table if it is missing),
 * {@code delete table inet clawfence}, then the full table; nft runs the file as one transaction, so
 * either the new table replaces the old one or (on any error) the old one stays.
 *
 * <p>Layout: named sets, one "verdict chain" per blocking reason and direction (only those used), and
 * two base chains, {@code input} and {@code output} (filter hook, priority filter, policy accept), whose
 * rules follow {@link dev.clawfence.policy.Evaluator}'s steps in order:
 * <ul>
 *   <li>Platform first in both chains: loopback interface, established/related, essential ICMPv6
 *       (errors, neighbour and router discovery, and MLD as RFC 4890 recommends), then inbound
 *       management ranges, outbound control-plane endpoints and DNS resolvers on tcp/udp 53. Mode
 *       {@code off} ends the chain there.
 *   <li>Inbound: tcp/udp on a port that is not open → {@code port-closed}; allowlist boxes (tcp/udp)
 *       and, for echo requests, allowlist addresses → accept; active allowlist → {@code not-allowlisted};
 *       geo → {@code geo}; accept.
 *   <li>Outbound: destination boxes, the agent-filled domain sets, and for echo requests the destination
 *       addresses → accept; tcp/udp on a port that is not open → {@code port-closed}; default deny →
 *       {@code unknown-destination}; accept.
 *   <li>Other protocols (neither tcp, udp nor ICMP/ICMPv6 echo request, and not accepted by a platform
 *       rule) cannot be opened by a policy: with the direction enforced or monitored they go to the
 *       {@code port-closed} verdict at the port step.
 * </ul>
 * A verdict chain rejects in {@code enforce} mode: tcp with a reset, udp with ICMP port-unreachable
 * (the client sees "connection refused"), everything else with ICMP admin-prohibited. In {@code monitor}
 * mode it ends with {@code counter accept comment "would-block <reason>"}. Every terminal rule has a
 * counter and a fixed comment (a platform rule id or a reason keyword); no user text is ever rendered,
 * and every element is printed from a validated type. Rules that would match only an empty set are left
 * out; negated lookups are always rendered.
 *
 * <p>Events and counters: every tenant decision ({@link LogDecision}: blocked or would-block per reason,
 * allowed as allowlisted, destination-allowed or default) starts with one log rule,
 * {@code counter name "<decision>" limit name "events" log prefix "cf1 <a|b|w> - <reason>" group <g>},
 * followed by the rule that decides. The named counter comes before the limit, so it counts every
 * attempt; the limit, one named object shared by all log rules, drops only the log message: a rule
 * whose limit is exhausted falls through to the next rule, which is why log and verdict are never the
 * same rule. Allowlist and destination matches therefore {@code goto} a chain per decision
 * ({@code in_allowlisted}, {@code out_destination_allowed}) that logs, then accepts. Only packets that
 * are not established or related reach a decision, so it is one event per new connection attempt
 * (a blocked tcp attempt is reset, so it is not retransmitted; udp without a reply is logged per
 * datagram until conntrack sees one). Platform traffic and directions in mode {@code off} are neither
 * logged nor counted.
 *
 * <p>The domain sets ({@code dest4_domains}, {@code dest6_domains}: address . protocol . port;
 * {@code dest4_domain_addrs}, {@code dest6_domain_addrs}: address, for echo) are rendered empty with
 * {@code flags interval, timeout} when the policy has name destinations; the agent adds resolved
 * addresses to them with a timeout from the DNS TTL.
 */
public final class NftRenderer {

    /** The table the agent owns, in the {@code inet} family. */
    public static final String TABLE = "clawfence";

    static final String ESSENTIAL_ICMPV6 = "destination-unreachable, packet-too-big, time-exceeded, parameter-problem, "
            + "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, "
            + "mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report";

    /** The name of the one rate limit object that all log rules share. */
    public static final String LIMIT = "events";

    private final CompiledPolicy policy;
    private final EventLogging logging;
    private final Set<String> usedSets = new LinkedHashSet<>();
    private final Set<String> usedVerdicts = new LinkedHashSet<>();
    private final Set<LogDecision> decisions = new LinkedHashSet<>();
    private boolean domainSets;

    private NftRenderer(CompiledPolicy policy, EventLogging logging) {
        this.policy = policy;
        this.logging = logging;
    }

    /** The nft script for {@code policy} with {@link EventLogging#DEFAULT}; equal policies give equal text. */
    public static String render(CompiledPolicy policy) {
        return render(policy, EventLogging.DEFAULT);
    }

    /** The nft script for {@code policy}, logging as {@code logging} says; equal arguments give equal text. */
    public static String render(CompiledPolicy policy, EventLogging logging) {
        return new NftRenderer(policy, logging).script();
    }

    private String script() {
        List<String> input = input();
        List<String> output = output();
        StringBuilder chains = new StringBuilder();
        for (String verdict : usedVerdicts) {
            verdictChain(chains, verdict);
        }
        StringBuilder out = new StringBuilder();
        out.append("# Clawfence ruleset: replaces table inet ").append(TABLE).append(" in one transaction (nft -f).\n");
        out.append("table inet ").append(TABLE).append(" {}\n");
        out.append("delete table inet ").append(TABLE).append('\n');
        out.append("table inet ").append(TABLE).append(" {\n");
        for (CompiledSet<?> set : policy.sets()) {
            if (usedSets.contains(set.name())) {
                set(out, set);
            }
        }
        if (domainSets) {
            dynamicSet(out, "dest4_domains", "ipv4_addr . inet_proto . inet_service");
            dynamicSet(out, "dest6_domains", "ipv6_addr . inet_proto . inet_service");
            dynamicSet(out, "dest4_domain_addrs", "ipv4_addr");
            dynamicSet(out, "dest6_domain_addrs", "ipv6_addr");
        }
        for (LogDecision decision : decisions) {
            out.append("\tcounter ").append(decision.counterName()).append(" {\n\t}\n\n");
        }
        if (logging.enabled() && !decisions.isEmpty()) {
            out.append("\tlimit ").append(LIMIT).append(" {\n\t\trate ").append(logging.ratePerSecond()).append("/second burst ")
                    .append(logging.burst()).append(" packets\n\t}\n\n");
        }
        out.append(chains);
        baseChain(out, "input", "input", input);
        baseChain(out, "output", "output", output);
        out.append("}\n");
        return out.toString();
    }

    private List<String> input() {
        List<String> rules = new ArrayList<>();
        PlatformSets platform = policy.platform();
        rules.add("iif \"lo\" counter accept comment \"platform:loopback\"");
        rules.add("ct state established,related counter accept comment \"platform:established\"");
        rules.add("icmpv6 type { " + ESSENTIAL_ICMPV6 + " } counter accept comment \"platform:icmpv6\"");
        ifAny(rules, platform.management4(), "ip saddr @%s counter accept comment \"platform:management\"");
        ifAny(rules, platform.management6(), "ip6 saddr @%s counter accept comment \"platform:management\"");
        if (policy.modes().inbound() == Mode.OFF) {
            return rules;
        }
        CompiledInbound in = policy.inbound();
        portStep(rules, in.openPorts(), "in_port_closed");
        ifAny(rules, in.allow4(), "ip saddr . meta l4proto . th dport @%s " + jump("in_allowlisted"));
        ifAny(rules, in.allow6(), "ip6 saddr . meta l4proto . th dport @%s " + jump("in_allowlisted"));
        ifAny(rules, in.allowAddresses4(), "icmp type echo-request ip saddr @%s " + jump("in_allowlisted"));
        ifAny(rules, in.allowAddresses6(), "icmpv6 type echo-request ip6 saddr @%s " + jump("in_allowlisted"));
        if (in.allowlistActive()) {
            rules.add(jump("in_not_allowlisted"));
        }
        if (in.geoMode() == GeoMode.BLOCK) {
            ifAny(rules, in.geo4(), "ip saddr @%s " + jump("in_geo"));
            ifAny(rules, in.geo6(), "ip6 saddr @%s " + jump("in_geo"));
        } else if (in.geoMode() == GeoMode.ALLOW) {
            rules.add("ip saddr != @" + use(in.geo4()) + " " + jump("in_geo"));
            rules.add("ip6 saddr != @" + use(in.geo6()) + " " + jump("in_geo"));
        }
        rules.add(logRule(Direction.INBOUND, Reason.DEFAULT));
        rules.add("counter accept comment \"default\"");
        return rules;
    }

    private List<String> output() {
        List<String> rules = new ArrayList<>();
        PlatformSets platform = policy.platform();
        rules.add("oif \"lo\" counter accept comment \"platform:loopback\"");
        rules.add("ct state established,related counter accept comment \"platform:established\"");
        rules.add("icmpv6 type { " + ESSENTIAL_ICMPV6 + " } counter accept comment \"platform:icmpv6\"");
        ifAny(rules, platform.controlPlane4(), "ip daddr @%s counter accept comment \"platform:control-plane\"");
        ifAny(rules, platform.controlPlane6(), "ip6 daddr @%s counter accept comment \"platform:control-plane\"");
        ifAny(rules, platform.dns4(), "ip daddr @%s meta l4proto { tcp, udp } th dport 53 counter accept comment \"platform:dns\"");
        ifAny(rules, platform.dns6(), "ip6 daddr @%s meta l4proto { tcp, udp } th dport 53 counter accept comment \"platform:dns\"");
        if (policy.modes().outbound() == Mode.OFF) {
            return rules;
        }
        CompiledOutbound out = policy.outbound();
        ifAny(rules, out.destinations4(), "ip daddr . meta l4proto . th dport @%s " + jump("out_destination_allowed"));
        ifAny(rules, out.destinations6(), "ip6 daddr . meta l4proto . th dport @%s " + jump("out_destination_allowed"));
        if (!out.domains().isEmpty()) {
            domainSets = true;
            rules.add("ip daddr . meta l4proto . th dport @dest4_domains " + jump("out_destination_allowed"));
            rules.add("ip6 daddr . meta l4proto . th dport @dest6_domains " + jump("out_destination_allowed"));
        }
        ifAny(rules, out.destinationAddresses4(), "icmp type echo-request ip daddr @%s " + jump("out_destination_allowed"));
        ifAny(rules, out.destinationAddresses6(), "icmpv6 type echo-request ip6 daddr @%s " + jump("out_destination_allowed"));
        if (!out.domains().isEmpty()) {
            rules.add("icmp type echo-request ip daddr @dest4_domain_addrs " + jump("out_destination_allowed"));
            rules.add("icmpv6 type echo-request ip6 daddr @dest6_domain_addrs " + jump("out_destination_allowed"));
        }
        portStep(rules, out.openPorts(), "out_port_closed");
        if (out.defaultAction() == DefaultAction.DENY) {
            rules.add(jump("out_unknown_destination"));
        }
        rules.add(logRule(Direction.OUTBOUND, Reason.DEFAULT));
        rules.add("counter accept comment \"default\"");
        return rules;
    }

    /** Step 3: tcp/udp on a closed port, and every protocol a policy cannot open, go to {@code verdict}. */
    private void portStep(List<String> rules, CompiledSet<PortSpec> open, String verdict) {
        rules.add("meta l4proto { tcp, udp } meta l4proto . th dport != @" + use(open) + " " + jump(verdict));
        rules.add("meta l4proto != { tcp, udp, icmp, ipv6-icmp } " + jump(verdict));
        rules.add("icmp type != echo-request " + jump(verdict));
        rules.add("icmpv6 type != echo-request " + jump(verdict));
    }

    private String jump(String verdict) {
        usedVerdicts.add(verdict);
        return "goto " + verdict;
    }

    private void ifAny(List<String> rules, CompiledSet<?> set, String format) {
        if (!set.isEmpty()) {
            rules.add(String.format(format, use(set)));
        }
    }

    private String use(CompiledSet<?> set) {
        usedSets.add(set.name());
        return set.name();
    }

    /**
     * A chain per decision: {@code in_allowlisted} and {@code out_destination_allowed} log and accept;
     * the others (named after their blocking reason) log, then reject in {@code enforce} mode or accept
     * as would-block in {@code monitor} mode.
     */
    private void verdictChain(StringBuilder out, String verdict) {
        boolean inbound = verdict.startsWith("in_");
        Direction direction = inbound ? Direction.INBOUND : Direction.OUTBOUND;
        String wire = verdict.substring(verdict.indexOf('_') + 1).replace('_', '-');
        Reason reason = reason(wire);
        Mode mode = policy.modes().of(direction);
        out.append("\tchain ").append(verdict).append(" {\n");
        out.append("\t\t").append(logRule(direction, reason)).append('\n');
        if (reason == Reason.ALLOWLISTED || reason == Reason.DESTINATION_ALLOWED) {
            out.append("\t\tcounter accept comment \"").append(wire).append("\"\n");
        } else if (mode == Mode.MONITOR) {
            out.append("\t\tcounter accept comment \"would-block ").append(wire).append("\"\n");
        } else {
            out.append("\t\tmeta l4proto tcp counter reject with tcp reset comment \"").append(wire).append("\"\n");
            out.append("\t\tmeta l4proto udp counter reject with icmpx port-unreachable comment \"").append(wire).append("\"\n");
            out.append("\t\tcounter reject with icmpx admin-prohibited comment \"").append(wire).append("\"\n");
        }
        out.append("\t}\n\n");
    }

    /** The rule that counts (always) and logs (under the shared limit) the attempts reaching a decision; it never decides. */
    private String logRule(Direction direction, Reason reason) {
        Verdict verdict = reason == Reason.ALLOWLISTED || reason == Reason.DESTINATION_ALLOWED || reason == Reason.DEFAULT ? Verdict.ALLOWED
                : policy.modes().of(direction) == Mode.MONITOR ? Verdict.WOULD_BLOCK : Verdict.BLOCKED;
        LogDecision decision = new LogDecision(direction, verdict, reason);
        decisions.add(decision);
        String rule = "counter name \"" + decision.counterName() + "\"";
        if (logging.enabled()) {
            rule += " limit name \"" + LIMIT + "\" log prefix \"" + decision.prefix() + "\" group " + logging.group();
        }
        return rule;
    }

    private static Reason reason(String wireName) {
        for (Reason reason : Reason.values()) {
            if (reason.wireName().equals(wireName)) {
                return reason;
            }
        }
        throw new IllegalStateException("no reason " + wireName);
    }

    private static void baseChain(StringBuilder out, String name, String hook, List<String> rules) {
        out.append("\tchain ").append(name).append(" {\n");
        out.append("\t\ttype filter hook ").append(hook).append(" priority filter; policy accept;\n");
        for (String rule : rules) {
            out.append("\t\t").append(rule).append('\n');
        }
        out.append("\t}\n");
        if (name.equals("input")) {
            out.append('\n');
        }
    }

    private static void set(StringBuilder out, CompiledSet<?> set) {
        out.append("\tset ").append(set.name()).append(" {\n");
        out.append("\t\ttype ").append(type(set)).append('\n');
        out.append("\t\tflags interval\n");
        if (!set.isEmpty()) {
            out.append("\t\telements = {\n");
            List<?> elements = set.elements();
            for (int i = 0; i < elements.size(); i++) {
                out.append("\t\t\t").append(element(elements.get(i))).append(i + 1 < elements.size() ? ",\n" : "\n");
            }
            out.append("\t\t}\n");
        }
        out.append("\t}\n\n");
    }

    private static void dynamicSet(StringBuilder out, String name, String type) {
        out.append("\tset ").append(name).append(" {\n");
        out.append("\t\ttype ").append(type).append('\n');
        out.append("\t\tflags interval, timeout\n");
        out.append("\t}\n\n");
    }

    private static String type(CompiledSet<?> set) {
        return switch (set.type()) {
            case IPV4_ADDRESSES -> "ipv4_addr";
            case IPV6_ADDRESSES -> "ipv6_addr";
            case PORTS -> "inet_proto . inet_service";
            case IPV4_BOXES -> "ipv4_addr . inet_proto . inet_service";
            case IPV6_BOXES -> "ipv6_addr . inet_proto . inet_service";
        };
    }

    private static String element(Object element) {
        return switch (element) {
            case AddressRange range -> range.toString();
            case PortSpec ports -> ports(ports);
            case Box box -> box.addresses() + " . " + ports(box.ports());
            default -> throw new IllegalArgumentException("not a set element: " + element.getClass().getName());
        };
    }

    private static String ports(PortSpec ports) {
        return ports.proto().wireName() + " . " + ports.port() + (ports.last() == ports.port() ? "" : "-" + ports.last());
    }
}
