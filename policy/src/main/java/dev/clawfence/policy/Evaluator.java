package dev.clawfence.policy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides one connection exactly per DESIGN.md's inbound and outbound decision procedures. Built once
 * per policy version; {@link #evaluate} is allocation-light and thread-safe.
 *
 * <p><b>Inbound decision</b> for a new connection (TCP SYN, first UDP datagram, ICMP echo) to the host:
 * <ol>
 *   <li>Platform rules first, not editable by tenants: loopback, established/related, essential ICMPv6,
 *       the platform's management ranges (set by admins) → accept.
 *   <li>Inbound mode {@code off} → accept.
 *   <li>Port not in {@code inbound.ports} → block ({@code port-closed}); ICMP echo has no port and skips
 *       this step.
 *   <li>Source in an allowlist entry whose ports cover the port → allow (explicit entries beat geo).
 *   <li>Allowlist non-empty (active) and source not in it → block ({@code not-allowlisted}).
 *   <li>Geo: {@code block} mode and source country listed, or {@code allow} mode and country not listed
 *       (unknown country counts as not listed) → block ({@code geo}).
 *   <li>Otherwise → allow.
 * </ol>
 *
 * <p><b>Outbound decision</b> for a new connection from the host:
 * <ol>
 *   <li>Platform rules: loopback, established/related, the control-plane endpoints, the configured DNS
 *       resolvers → accept.
 *   <li>Outbound mode {@code off} → accept.
 *   <li>Destination port not in {@code outbound.ports} (or the entry's own ports) → block
 *       ({@code port-closed}).
 *   <li>Destination in a destination entry (CIDR, or an address that an allowed domain resolved to) →
 *       allow.
 *   <li>{@code defaultAction} deny → block ({@code unknown-destination}); else allow.
 * </ol>
 *
 * <p>Decisions taken here where DESIGN.md is silent:
 * <ul>
 *   <li>Connections are new attempts, so "established/related" and "essential ICMPv6" never apply.
 *       Platform matches name the rule: source (inbound) or destination (outbound) loopback
 *       (127.0.0.0/8, ::1) → {@code platform:loopback}; inbound source in a management range →
 *       {@code platform:management}; outbound destination in a control-plane endpoint →
 *       {@code platform:control-plane}; outbound destination in a DNS resolver on port 53, tcp or udp →
 *       {@code platform:dns}. Host-name destinations never match platform rules.
 *   <li>ICMP echo has no port: it skips the port step in both directions, and port lists of entries do
 *       not restrict it (an entry matches ICMP by address alone).
 *   <li>Allowlist: an entry matches when the source is inside its CIDR, it has not expired
 *       ({@code expiresAt <= now} is expired) and its ports, if it has any, cover the port. The deciding
 *       entry is the most specific (longest prefix), ties by document order. Only unexpired entries make
 *       the allowlist active in step 5. A source inside an entry whose ports do not cover the port is
 *       {@code not-allowlisted}; the explanation names that entry and its ports.
 *   <li>Outbound: the port is open if it is in {@code outbound.ports} or allowed by a destination entry
 *       that matches the destination. An entry with its own ports allows exactly those; an entry
 *       without ports allows {@code outbound.ports}. The deciding entry is the most specific one that
 *       allows the port (longest prefix; for names, an exact name before wildcards, longer wildcards
 *       first), ties by document order. Otherwise: port not open → {@code port-closed};
 *       {@code defaultAction} deny → {@code unknown-destination}; else allowed by {@code default}.
 *   <li>Names: {@code example.com} matches exactly that name; {@code *.example.com} matches every name
 *       below it but not {@code example.com}. An address destination never matches a name entry (the
 *       agent resolves names later), and a name destination never matches a CIDR entry.
 *   <li>Geo in {@code block} mode lets an unknown country pass.
 *   <li>Monitor mode turns every {@code blocked} into {@code would-block} with the same reason and rule.
 *   <li>The rule id is the entry's id for {@code allowlisted} and {@code destination-allowed} (its JSON
 *       path, e.g. {@code inbound.allowlist[3]}, for an entry not yet stamped with an id), the
 *       {@code platform:*} name for platform decisions, and null otherwise.
 *   <li>The explanation is one sentence built only from validated values (addresses, names, ports,
 *       ids, CIDRs) and rule descriptions, e.g. {@code 203.0.113.9 is in allowlist entry in-7f3k2q
 *       "Office VPN" (203.0.113.0/24), which allows tcp/443}. The rule-dependent parts are built once
 *       at compile time.
 * </ul>
 */
public final class Evaluator {

    private final Modes modes;
    private final PlatformRange[] management;
    private final PlatformRange[] controlPlane;
    private final PlatformRange[] dnsResolvers;
    private final PortSet inboundPorts;
    private final String inboundPortsText;
    private final PortSet outboundPorts;
    private final String outboundPortsText;
    private final Rule[] allowlist;
    private final PrefixIndex allowV4;
    private final PrefixIndex allowV6;
    private final boolean allowlistNeverExpires;
    private final Instant allowlistLastExpiry;
    private final GeoMode geoMode;
    private final java.util.Set<String> countries;
    private final Rule[] destinations;
    private final PrefixIndex destV4;
    private final PrefixIndex destV6;
    private final Map<String, int[]> exactNames;
    private final Map<String, int[]> wildcardNames;
    private final DefaultAction defaultAction;

    private Evaluator(PolicyDocument policy, PlatformRules platform) {
        this.modes = policy.mode();
        this.management = PlatformRange.parseAll(platform.managementRanges());
        this.controlPlane = PlatformRange.parseAll(platform.controlPlaneEndpoints());
        this.dnsResolvers = PlatformRange.parseAll(platform.dnsResolvers());
        this.inboundPorts = PortSet.ofRules(policy.inbound().ports());
        this.inboundPortsText = summary(inboundPorts);
        this.outboundPorts = PortSet.ofRules(policy.outbound().ports());
        this.outboundPortsText = summary(outboundPorts);

        List<AllowlistEntry> entries = policy.inbound().allowlist();
        this.allowlist = new Rule[entries.size()];
        List<PrefixIndex.Block> v4 = new ArrayList<>();
        List<PrefixIndex.Block> v6 = new ArrayList<>();
        boolean neverExpires = false;
        Instant lastExpiry = null;
        for (int i = 0; i < entries.size(); i++) {
            AllowlistEntry entry = entries.get(i);
            AddressSyntax.Cidr block = parseBlock(entry.cidr());
            allowlist[i] = new Rule(ruleId(entry.id(), "inbound.allowlist", i), entry.description(), entry.cidr(), entry.ports(), entry.expiresAt(), "allowlist entry");
            (block.ipv4() ? v4 : v6).add(toBlock(block, i));
            if (entry.expiresAt() == null) {
                neverExpires = true;
            } else if (lastExpiry == null || entry.expiresAt().isAfter(lastExpiry)) {
                lastExpiry = entry.expiresAt();
            }
        }
        this.allowV4 = PrefixIndex.build(v4, true);
        this.allowV6 = PrefixIndex.build(v6, false);
        this.allowlistNeverExpires = neverExpires;
        this.allowlistLastExpiry = lastExpiry;
        this.geoMode = policy.inbound().geo().mode();
        this.countries = java.util.Set.copyOf(policy.inbound().geo().countries());

        List<Destination> dests = policy.outbound().destinations();
        this.destinations = new Rule[dests.size()];
        List<PrefixIndex.Block> d4 = new ArrayList<>();
        List<PrefixIndex.Block> d6 = new ArrayList<>();
        Map<String, List<Integer>> exact = new HashMap<>();
        Map<String, List<Integer>> wildcard = new HashMap<>();
        for (int i = 0; i < dests.size(); i++) {
            Destination dest = dests.get(i);
            destinations[i] = new Rule(ruleId(dest.id(), "outbound.destinations", i), dest.description(), dest.target(), dest.ports(), null, "destination entry");
            if (dest.cidr() != null) {
                AddressSyntax.Cidr block = parseBlock(dest.cidr());
                (block.ipv4() ? d4 : d6).add(toBlock(block, i));
            } else if (dest.domain().startsWith("*.")) {
                wildcard.computeIfAbsent(dest.domain().substring(2), k -> new ArrayList<>()).add(i);
            } else {
                exact.computeIfAbsent(dest.domain(), k -> new ArrayList<>()).add(i);
            }
        }
        this.destV4 = PrefixIndex.build(d4, true);
        this.destV6 = PrefixIndex.build(d6, false);
        this.exactNames = toArrays(exact);
        this.wildcardNames = toArrays(wildcard);
        this.defaultAction = policy.outbound().defaultAction();
    }

    /**
     * Compiles {@code policy} with the platform's rules into a lookup structure.
     *
     * @throws IllegalArgumentException when a platform rule is not an address or CIDR (naming it)
     */
    public static Evaluator compile(PolicyDocument policy, PlatformRules platform) {
        return new Evaluator(policy, platform);
    }

    /** {@code now} decides whether an allowlist entry has expired. */
    public Decision evaluate(Connection connection, Instant now) {
        Decision decision = connection.direction() == Direction.INBOUND ? inbound(connection, now) : outbound(connection);
        if (decision.verdict() == Verdict.BLOCKED && modes.of(connection.direction()) == Mode.MONITOR) {
            return new Decision(Verdict.WOULD_BLOCK, decision.reason(), decision.ruleId(), decision.explanation());
        }
        return decision;
    }

    private Decision inbound(Connection c, Instant now) {
        Host source = c.from();
        if (isLoopback(source)) {
            return new Decision(Verdict.ALLOWED, Reason.PLATFORM, "platform:loopback", source + " is loopback, which the platform always accepts");
        }
        PlatformRange managed = PlatformRange.find(management, source);
        if (managed != null) {
            return new Decision(Verdict.ALLOWED, Reason.PLATFORM, "platform:management",
                    source + " is in the platform's management range " + managed.text + ", which is always accepted");
        }
        if (modes.inbound() == Mode.OFF) {
            return new Decision(Verdict.ALLOWED, Reason.MODE_OFF, null, "inbound filtering is off, so every connection is accepted");
        }
        boolean hasPort = c.proto().hasPorts();
        if (hasPort && !inboundPorts.contains(c.proto(), c.port())) {
            return new Decision(Verdict.BLOCKED, Reason.PORT_CLOSED, null,
                    portText(c) + " is not an open inbound port (open: " + inboundPortsText + ")");
        }
        PrefixIndex index = source.isIPv4() ? allowV4 : allowV6;
        int interval = index.find(source.high(), source.low());
        Rule addressMatch = null;
        for (int k = index.from(interval), end = index.to(interval); k < end; k++) {
            Rule rule = allowlist[index.entry(k)];
            if (rule.expiresAt != null && !now.isBefore(rule.expiresAt)) {
                continue;
            }
            if (!hasPort || rule.ports == null || rule.ports.contains(c.proto(), c.port())) {
                return new Decision(Verdict.ALLOWED, Reason.ALLOWLISTED, rule.id, source + rule.allowsText);
            }
            if (addressMatch == null) {
                addressMatch = rule;
            }
        }
        if (addressMatch != null) {
            return new Decision(Verdict.BLOCKED, Reason.NOT_ALLOWLISTED, null,
                    source + addressMatch.onlyText + portText(c));
        }
        if (allowlistNeverExpires || (allowlistLastExpiry != null && now.isBefore(allowlistLastExpiry))) {
            return new Decision(Verdict.BLOCKED, Reason.NOT_ALLOWLISTED, null, source + " is not in the allowlist");
        }
        if (geoMode == GeoMode.BLOCK && c.country() != null && countries.contains(c.country())) {
            return new Decision(Verdict.BLOCKED, Reason.GEO, null, "the source country " + c.country() + " is blocked by the geo rule");
        }
        if (geoMode == GeoMode.ALLOW && (c.country() == null || !countries.contains(c.country()))) {
            String why = c.country() == null
                    ? "the source country of " + source + " is unknown and the geo rule allows only listed countries"
                    : "the source country " + c.country() + " is not among the countries the geo rule allows";
            return new Decision(Verdict.BLOCKED, Reason.GEO, null, why);
        }
        return new Decision(Verdict.ALLOWED, Reason.DEFAULT, null, "no inbound rule blocks " + source + " on " + portText(c));
    }

    private Decision outbound(Connection c) {
        Host destination = c.to();
        boolean hasPort = c.proto().hasPorts();
        if (isLoopback(destination)) {
            return new Decision(Verdict.ALLOWED, Reason.PLATFORM, "platform:loopback", destination + " is loopback, which the platform always accepts");
        }
        PlatformRange endpoint = PlatformRange.find(controlPlane, destination);
        if (endpoint != null) {
            return new Decision(Verdict.ALLOWED, Reason.PLATFORM, "platform:control-plane",
                    destination + " is the platform's control plane (" + endpoint.text + "), which is always reachable");
        }
        if (hasPort && c.port() == 53) {
            PlatformRange resolver = PlatformRange.find(dnsResolvers, destination);
            if (resolver != null) {
                return new Decision(Verdict.ALLOWED, Reason.PLATFORM, "platform:dns",
                        destination + " is a platform DNS resolver (" + resolver.text + "), always reachable on port 53");
            }
        }
        if (modes.outbound() == Mode.OFF) {
            return new Decision(Verdict.ALLOWED, Reason.MODE_OFF, null, "outbound filtering is off, so every connection is accepted");
        }
        boolean globallyOpen = hasPort && outboundPorts.contains(c.proto(), c.port());
        Rule matched = null;
        if (destination.isDomain()) {
            String name = destination.domain();
            matched = firstAllowing(exactNames.get(name), c, globallyOpen);
            for (int dot = name.indexOf('.'); matched == null && dot >= 0; dot = name.indexOf('.', dot + 1)) {
                matched = firstAllowing(wildcardNames.get(name.substring(dot + 1)), c, globallyOpen);
            }
        } else {
            PrefixIndex index = destination.isIPv4() ? destV4 : destV6;
            int interval = index.find(destination.high(), destination.low());
            for (int k = index.from(interval), end = index.to(interval); matched == null && k < end; k++) {
                matched = allowing(destinations[index.entry(k)], c, globallyOpen);
            }
        }
        if (matched != null) {
            return new Decision(Verdict.ALLOWED, Reason.DESTINATION_ALLOWED, matched.id,
                    destination + " matches " + matched.kind + " " + matched.id + " " + AddressSyntax.quote(matched.description)
                            + " (" + matched.target + "), which allows " + (matched.ports == null ? "the open outbound ports" : matched.ports));
        }
        if (hasPort && !globallyOpen) {
            return new Decision(Verdict.BLOCKED, Reason.PORT_CLOSED, null,
                    portText(c) + " is not an open outbound port (open: " + outboundPortsText + ") and no destination entry for " + destination + " opens it");
        }
        if (defaultAction == DefaultAction.DENY) {
            return new Decision(Verdict.BLOCKED, Reason.UNKNOWN_DESTINATION, null,
                    destination + " matches no destination entry that allows " + portText(c) + ", and the default action is deny");
        }
        return new Decision(Verdict.ALLOWED, Reason.DEFAULT, null,
                destination + " matches no destination entry that allows " + portText(c) + ", and the default action is allow");
    }

    private Rule firstAllowing(int[] candidates, Connection c, boolean globallyOpen) {
        if (candidates == null) {
            return null;
        }
        for (int index : candidates) {
            Rule rule = allowing(destinations[index], c, globallyOpen);
            if (rule != null) {
                return rule;
            }
        }
        return null;
    }

    /** The destination rule if it allows the connection's port (its own ports, or the open ports), else null. */
    private static Rule allowing(Rule rule, Connection c, boolean globallyOpen) {
        return !c.proto().hasPorts() || (rule.ports == null ? globallyOpen : rule.ports.contains(c.proto(), c.port())) ? rule : null;
    }

    private static boolean isLoopback(Host host) {
        if (host == null || host.isDomain()) {
            return false;
        }
        if (host.isIPv4()) {
            return (host.low() >>> 24) == 127;
        }
        return host.high() == 0 && host.low() == 1;
    }

    private static String portText(Connection c) {
        return c.proto().hasPorts() ? c.proto().wireName() + "/" + c.port() : "icmp";
    }

    private static String summary(PortSet ports) {
        String text = ports.toString();
        return text.length() <= 200 ? text : text.substring(0, 200) + "…";
    }

    private static String ruleId(String id, String list, int index) {
        return id != null ? id : list + "[" + index + "]";
    }

    private static AddressSyntax.Cidr parseBlock(String cidr) {
        AddressSyntax.ParsedCidr parsed = AddressSyntax.cidr(cidr);
        if (!parsed.isValid()) {
            throw new IllegalArgumentException(parsed.error());
        }
        return parsed.value();
    }

    private static PrefixIndex.Block toBlock(AddressSyntax.Cidr block, int entry) {
        return new PrefixIndex.Block(block.firstHigh(), block.firstLow(), block.lastHigh(), block.lastLow(), block.prefix(), entry);
    }

    private static Map<String, int[]> toArrays(Map<String, List<Integer>> lists) {
        Map<String, int[]> arrays = new HashMap<>();
        lists.forEach((key, value) -> arrays.put(key, value.stream().mapToInt(Integer::intValue).toArray()));
        return arrays;
    }

    /** A compiled entry with the parts of its explanation worked out ahead. */
    private static final class Rule {
        final String id;
        final String description;
        final String target;
        final PortSet ports;
        final Instant expiresAt;
        final String kind;
        final String allowsText;
        final String onlyText;

        Rule(String id, String description, String target, List<PortSpec> ports, Instant expiresAt, String kind) {
            this.id = id;
            this.description = description;
            this.target = target;
            this.ports = ports.isEmpty() ? null : PortSet.of(ports);
            this.expiresAt = expiresAt;
            this.kind = kind;
            this.allowsText = " is in " + kind + " " + id + " " + AddressSyntax.quote(description) + " (" + target + "), which allows "
                    + (this.ports == null ? "every port" : this.ports.toString());
            this.onlyText = " is in " + kind + " " + id + " " + AddressSyntax.quote(description) + " (" + target + "), but it allows only "
                    + (this.ports == null ? "every port" : this.ports.toString()) + ", not ";
        }
    }

    /** One platform rule as a numeric range. */
    private record PlatformRange(String text, boolean ipv4, long firstHigh, long firstLow, long lastHigh, long lastLow) {

        static PlatformRange[] parseAll(List<String> texts) {
            PlatformRange[] ranges = new PlatformRange[texts.size()];
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i);
                AddressSyntax.ParsedCidr parsed = text == null
                        ? new AddressSyntax.ParsedCidr(null, "null is not an address")
                        : AddressSyntax.cidr(text.strip());
                if (!parsed.isValid()) {
                    throw new IllegalArgumentException("platform rule " + AddressSyntax.quote(String.valueOf(text)) + " is not an address or CIDR: " + parsed.error());
                }
                AddressSyntax.Cidr block = parsed.value();
                ranges[i] = new PlatformRange(block.canonical(), block.ipv4(), block.firstHigh(), block.firstLow(), block.lastHigh(), block.lastLow());
            }
            return ranges;
        }

        static PlatformRange find(PlatformRange[] ranges, Host host) {
            if (host == null || host.isDomain()) {
                return null;
            }
            for (PlatformRange range : ranges) {
                if (range.ipv4 == host.isIPv4()
                        && PrefixIndex.compare(range.firstHigh, range.firstLow, host.high(), host.low()) <= 0
                        && PrefixIndex.compare(host.high(), host.low(), range.lastHigh, range.lastLow) <= 0) {
                    return range;
                }
            }
            return null;
        }
    }
}
