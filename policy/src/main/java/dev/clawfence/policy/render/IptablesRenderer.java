package dev.clawfence.policy.render;

import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.Box;
import dev.clawfence.policy.compile.CompiledInbound;
import dev.clawfence.policy.compile.CompiledOutbound;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.PlatformSets;
import inet.ipaddr.IPAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a compiled policy for hosts without nftables: ipsets plus two chains per family,
 * {@code CLAWFENCE-IN} and {@code CLAWFENCE-OUT} in table filter, which the agent hooks once with
 * {@code -I INPUT 1 -j CLAWFENCE-IN} and {@code -I OUTPUT 1 -j CLAWFENCE-OUT}. It touches nothing else.
 *
 * <p>The chains follow the same steps as {@link NftRenderer}, with these differences:
 * <ul>
 *   <li>"Accept" is {@code RETURN}: like an accept in nftables' own table, it ends Clawfence's say and
 *       leaves the packet to the host's other rules.
 *   <li>Sets are replaced one by one ({@code create} a {@code _new} set, fill it, {@code swap},
 *       {@code destroy}); the chains are replaced per family by one {@code iptables-restore}. Unlike
 *       the nft backend this is not one transaction across sets and rules.
 *   <li>Boxes become classes: the addresses that share one port list are one {@code hash:net} set, its
 *       ports one {@code bitmap:port} set per protocol, and each class is one rule per protocol
 *       (ipset cannot hold address ranges × port ranges without expanding every port).
 *   <li>Protocols other than tcp, udp and ICMP echo are blocked by the last rule of the chain (iptables
 *       cannot say "not tcp, udp or icmp" in one rule), so with an active allowlist, geo or default deny
 *       they are blocked for that reason instead of {@code port-closed}: the same verdict.
 *   <li>The domain sets ({@code hash:ip,port} and {@code hash:ip} with timeouts) are only created, never
 *       swapped, so the addresses the agent resolved survive a re-apply.
 * </ul>
 * Rejects are the same as with nft: tcp reset, ICMP port-unreachable for udp, admin-prohibited for the
 * rest; monitor mode turns each block into {@code RETURN} with a {@code would-block <reason>} comment.
 *
 * <p>Events and counters: every tenant decision rule (not the platform rules) is preceded by a rule with
 * the same match that logs, {@code -m hashlimit ... -j NFLOG --nflog-group <g> --nflog-prefix "cf1 <a|b|w> - <reason>"}
 * (NFLOG does not end the chain, so the decision rule after it always runs, whatever the limit did).
 * iptables has no named limit that rules share in both families: all log rules of one family share one
 * {@code hashlimit} bucket (same name, no {@code --hashlimit-mode}), so IPv4 and IPv6 each get the
 * configured rate, up to twice it in total. The name carries rate and burst, so a changed limit gets a
 * new bucket instead of the kernel keeping the old one's settings. The counters are the decision rules'
 * own packet counts ({@code iptables -L CLAWFENCE-IN -v -x -n}), by comment: a reason keyword
 * (allowed), a reason (blocked) or {@code would-block <reason>}.
 */
public final class IptablesRenderer {

    /** ipset names are at most 31 characters; ours are {@code cf_} + the compiled set's name + suffixes. */
    static final String PREFIX = "cf_";

    private static final List<String> ESSENTIAL_ICMPV6 = List.of("destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
            "router-solicitation", "router-advertisement", "neighbour-solicitation", "neighbour-advertisement", "130", "131", "132", "143");

    private final CompiledPolicy policy;
    private final EventLogging logging;
    private final StringBuilder ipset = new StringBuilder();
    private final java.util.Set<String> created = new java.util.HashSet<>();

    private IptablesRenderer(CompiledPolicy policy, EventLogging logging) {
        this.policy = policy;
        this.logging = logging;
    }

    /** The rendering with {@link EventLogging#DEFAULT}. */
    public static IptablesRuleset render(CompiledPolicy policy) {
        return render(policy, EventLogging.DEFAULT);
    }

    public static IptablesRuleset render(CompiledPolicy policy, EventLogging logging) {
        IptablesRenderer renderer = new IptablesRenderer(policy, logging);
        String v4 = renderer.family(true);
        String v6 = renderer.family(false);
        return new IptablesRuleset(renderer.ipset.toString(), v4, v6);
    }

    private String family(boolean v4) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        input(v4, new Chain(Direction.INBOUND, v4, policy.modes().inbound(), logging, in));
        output(v4, new Chain(Direction.OUTBOUND, v4, policy.modes().outbound(), logging, out));
        StringBuilder text = new StringBuilder();
        text.append("# Clawfence ").append(v4 ? "IPv4" : "IPv6").append(" chains: replaces CLAWFENCE-IN and CLAWFENCE-OUT only.\n");
        text.append("*filter\n:CLAWFENCE-IN - [0:0]\n:CLAWFENCE-OUT - [0:0]\n-F CLAWFENCE-IN\n-F CLAWFENCE-OUT\n");
        in.forEach(rule -> text.append("-A CLAWFENCE-IN ").append(rule).append('\n'));
        out.forEach(rule -> text.append("-A CLAWFENCE-OUT ").append(rule).append('\n'));
        text.append("COMMIT\n");
        return text.toString();
    }

    private void input(boolean v4, Chain chain) {
        PlatformSets platform = policy.platform();
        chain.accept("-i lo", "platform:loopback");
        platformCommon(v4, chain);
        CompiledSet<AddressRange> management = v4 ? platform.management4() : platform.management6();
        if (!management.isEmpty()) {
            chain.accept("-m set --match-set " + addressSet(management) + " src", "platform:management");
        }
        if (chain.mode == Mode.OFF) {
            return;
        }
        CompiledInbound in = policy.inbound();
        portStep(chain, in.openPorts(), "dst");
        boxes(chain, v4 ? in.allow4() : in.allow6(), "src", "allowlisted");
        CompiledSet<AddressRange> addresses = v4 ? in.allowAddresses4() : in.allowAddresses6();
        if (!addresses.isEmpty()) {
            chain.accept(echo(v4) + " -m set --match-set " + addressSet(addresses) + " src", "allowlisted");
        }
        if (in.allowlistActive()) {
            chain.blockAny("", "not-allowlisted");
        }
        CompiledSet<AddressRange> geo = v4 ? in.geo4() : in.geo6();
        if (in.geoMode() == GeoMode.BLOCK && !geo.isEmpty()) {
            chain.blockAny("-m set --match-set " + addressSet(geo) + " src", "geo");
        } else if (in.geoMode() == GeoMode.ALLOW) {
            chain.blockAny("-m set ! --match-set " + addressSet(geo) + " src", "geo");
        }
        tail(chain);
    }

    private void output(boolean v4, Chain chain) {
        PlatformSets platform = policy.platform();
        chain.accept("-o lo", "platform:loopback");
        platformCommon(v4, chain);
        CompiledSet<AddressRange> controlPlane = v4 ? platform.controlPlane4() : platform.controlPlane6();
        if (!controlPlane.isEmpty()) {
            chain.accept("-m set --match-set " + addressSet(controlPlane) + " dst", "platform:control-plane");
        }
        CompiledSet<AddressRange> dns = v4 ? platform.dns4() : platform.dns6();
        if (!dns.isEmpty()) {
            String resolvers = addressSet(dns);
            chain.accept("-p tcp --dport 53 -m set --match-set " + resolvers + " dst", "platform:dns");
            chain.accept("-p udp --dport 53 -m set --match-set " + resolvers + " dst", "platform:dns");
        }
        if (chain.mode == Mode.OFF) {
            return;
        }
        CompiledOutbound out = policy.outbound();
        boxes(chain, v4 ? out.destinations4() : out.destinations6(), "dst", "destination-allowed");
        String family = v4 ? "4" : "6";
        if (!out.domains().isEmpty()) {
            String boxes = dynamicSet("dest" + family + "_domains", "hash:ip,port family " + (v4 ? "inet" : "inet6") + " timeout 300");
            chain.accept("-m set --match-set " + boxes + " dst,dst", "destination-allowed");
        }
        CompiledSet<AddressRange> addresses = v4 ? out.destinationAddresses4() : out.destinationAddresses6();
        if (!addresses.isEmpty()) {
            chain.accept(echo(v4) + " -m set --match-set " + addressSet(addresses) + " dst", "destination-allowed");
        }
        if (!out.domains().isEmpty()) {
            String resolved = dynamicSet("dest" + family + "_domain_addrs", "hash:ip family " + (v4 ? "inet" : "inet6") + " timeout 300");
            chain.accept(echo(v4) + " -m set --match-set " + resolved + " dst", "destination-allowed");
        }
        portStep(chain, out.openPorts(), "dst");
        if (out.defaultAction() == DefaultAction.DENY) {
            chain.blockAny("", "unknown-destination");
        }
        tail(chain);
    }

    private static void platformCommon(boolean v4, Chain chain) {
        chain.accept("-m conntrack --ctstate ESTABLISHED,RELATED", "platform:established");
        if (!v4) {
            for (String type : ESSENTIAL_ICMPV6) {
                chain.accept("-p ipv6-icmp -m icmp6 --icmpv6-type " + type, "platform:icmpv6");
            }
        }
    }

    private void portStep(Chain chain, CompiledSet<PortSpec> open, String direction) {
        for (Protocol proto : List.of(Protocol.TCP, Protocol.UDP)) {
            String ports = portSet(open.name() + "_" + proto.wireName(), open.elements(), proto);
            chain.block("-p " + proto.wireName() + " -m set ! --match-set " + ports + " " + direction, proto, "port-closed");
        }
        chain.block(chain.v4 ? "-p icmp -m icmp ! --icmp-type echo-request" : "-p ipv6-icmp -m icmp6 ! --icmpv6-type echo-request", Protocol.ICMP,
                "port-closed");
    }

    /** Accept tcp, udp and echo that passed every step; block every other protocol. */
    private static void tail(Chain chain) {
        chain.accept("-p tcp", "default");
        chain.accept("-p udp", "default");
        chain.accept(chain.v4 ? "-p icmp" : "-p ipv6-icmp", "default");
        chain.block("", Protocol.ICMP, "port-closed");
    }

    private void boxes(Chain chain, CompiledSet<Box> set, String direction, String comment) {
        Map<AddressRange, List<PortSpec>> byRange = new LinkedHashMap<>();
        for (Box box : set.elements()) {
            byRange.computeIfAbsent(box.addresses(), range -> new ArrayList<>()).add(box.ports());
        }
        Map<List<PortSpec>, List<AddressRange>> classes = new LinkedHashMap<>();
        byRange.forEach((range, ports) -> classes.computeIfAbsent(ports, p -> new ArrayList<>()).add(range));
        int index = 0;
        for (Map.Entry<List<PortSpec>, List<AddressRange>> entry : classes.entrySet()) {
            String name = set.name() + "_c" + index++;
            String addresses = addressSet(name, entry.getValue(), chain.v4);
            for (Protocol proto : List.of(Protocol.TCP, Protocol.UDP)) {
                if (entry.getKey().stream().anyMatch(spec -> spec.proto() == proto)) {
                    String ports = portSet(name + "_" + proto.wireName(), entry.getKey(), proto);
                    chain.accept("-p " + proto.wireName() + " -m set --match-set " + addresses + " " + direction + " -m set --match-set " + ports + " dst",
                            comment);
                }
            }
        }
    }

    private static String echo(boolean v4) {
        return v4 ? "-p icmp -m icmp --icmp-type echo-request" : "-p ipv6-icmp -m icmp6 --icmpv6-type echo-request";
    }

    private String addressSet(CompiledSet<AddressRange> set) {
        return addressSet(set.name(), set.elements(), set.type() == dev.clawfence.policy.compile.SetType.IPV4_ADDRESSES);
    }

    private String addressSet(String name, List<AddressRange> ranges, boolean v4) {
        List<String> elements = new ArrayList<>();
        for (AddressRange range : ranges) {
            for (IPAddress block : range.first().spanWithRange(range.last()).spanWithPrefixBlocks()) {
                int prefix = block.getNetworkPrefixLength() == null ? block.getBitCount() : block.getNetworkPrefixLength();
                if (prefix == 0) {
                    // hash:net cannot hold /0: two halves instead.
                    elements.addAll(v4 ? List.of("0.0.0.0/1", "128.0.0.0/1") : List.of("::/1", "8000::/1"));
                } else {
                    elements.add(block.getLower().withoutPrefixLength().toCanonicalString() + "/" + prefix);
                }
            }
        }
        return replacedSet(name, "hash:net family " + (v4 ? "inet" : "inet6"), elements);
    }

    private String portSet(String name, List<PortSpec> specs, Protocol proto) {
        List<String> elements = new ArrayList<>();
        for (PortSpec spec : specs) {
            if (spec.proto() == proto) {
                elements.add(spec.port() + (spec.last() == spec.port() ? "" : "-" + spec.last()));
            }
        }
        return replacedSet(name, "bitmap:port range 0-65535", elements);
    }

    private String replacedSet(String name, String type, List<String> elements) {
        String set = PREFIX + name;
        if (!created.add(set)) {
            return set;
        }
        ipset.append("create ").append(set).append(' ').append(type).append('\n');
        ipset.append("create ").append(set).append("_new ").append(type).append('\n');
        ipset.append("flush ").append(set).append("_new\n");
        for (String element : elements) {
            ipset.append("add ").append(set).append("_new ").append(element).append('\n');
        }
        ipset.append("swap ").append(set).append("_new ").append(set).append('\n');
        ipset.append("destroy ").append(set).append("_new\n");
        return set;
    }

    private String dynamicSet(String name, String type) {
        String set = PREFIX + name;
        if (created.add(set)) {
            ipset.append("create ").append(set).append(' ').append(type).append('\n');
        }
        return set;
    }

    /** The rules of one chain of one family, written in the direction's mode. */
    private static final class Chain {
        final boolean v4;
        final Mode mode;
        private final Direction direction;
        private final EventLogging logging;
        private final List<String> rules;

        Chain(Direction direction, boolean v4, Mode mode, EventLogging logging, List<String> rules) {
            this.direction = direction;
            this.v4 = v4;
            this.mode = mode;
            this.logging = logging;
            this.rules = rules;
        }

        /** Accepts what {@code match} selects; a comment that is not a platform rule id is the reason of a logged tenant decision. */
        void accept(String match, String comment) {
            if (!comment.startsWith("platform:")) {
                log(match, new LogDecision(direction, Verdict.ALLOWED, reason(comment)));
            }
            rules.add(match + " -m comment --comment \"" + comment + "\" -j RETURN");
        }

        /** Blocks what {@code match} selects, which is of protocol {@code proto} (ICMP meaning "anything but tcp and udp"). */
        void block(String match, Protocol proto, String reason) {
            String prefix = match.isEmpty() ? "" : match + " ";
            log(match, new LogDecision(direction, mode == Mode.MONITOR ? Verdict.WOULD_BLOCK : Verdict.BLOCKED, reason(reason)));
            if (mode == Mode.MONITOR) {
                rules.add(prefix + "-m comment --comment \"would-block " + reason + "\" -j RETURN");
                return;
            }
            String with = switch (proto) {
                case TCP -> "tcp-reset";
                case UDP -> v4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
                case ICMP -> v4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited";
            };
            rules.add(prefix + "-m comment --comment \"" + reason + "\" -j REJECT --reject-with " + with);
        }

        /** Blocks every protocol that {@code match} selects, each with its own reject. */
        void blockAny(String match, String reason) {
            String prefix = match.isEmpty() ? "" : match + " ";
            if (mode == Mode.MONITOR) {
                block(match, Protocol.ICMP, reason);
                return;
            }
            block(prefix + "-p tcp", Protocol.TCP, reason);
            block(prefix + "-p udp", Protocol.UDP, reason);
            block(match, Protocol.ICMP, reason);
        }

        /** The log rule before a decision rule with the same match; NFLOG does not end the chain. */
        private void log(String match, LogDecision decision) {
            if (!logging.enabled()) {
                return;
            }
            String prefix = match.isEmpty() ? "" : match + " ";
            rules.add(prefix + "-m hashlimit --hashlimit-upto " + logging.ratePerSecond() + "/sec --hashlimit-burst " + logging.burst()
                    + " --hashlimit-name " + limitName(logging) + " -j NFLOG --nflog-group " + logging.group() + " --nflog-prefix \""
                    + decision.prefix() + "\"");
        }
    }

    /** The hashlimit bucket of the log rules: at most 15 characters, and new whenever rate or burst change. */
    static String limitName(EventLogging logging) {
        return "cf" + Integer.toString(logging.ratePerSecond(), 36) + "_" + Integer.toString(logging.burst(), 36);
    }

    private static Reason reason(String wireName) {
        for (Reason reason : Reason.values()) {
            if (reason.wireName().equals(wireName)) {
                return reason;
            }
        }
        throw new IllegalStateException("no reason " + wireName);
    }
}
