package dev.clawfence.policy;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The decision procedures of DESIGN.md written the obvious way: linear scans over the document's
 * entries with inet.ipaddr's {@code contains}. Slow and plain on purpose, as the model the compiled
 * {@link Evaluator} is checked against. Decides verdict, reason and rule id (not the wording).
 */
final class ReferenceEvaluator {

    private ReferenceEvaluator() {}

    static Decision evaluate(PolicyDocument policy, PlatformRules platform, Connection c, Instant now) {
        Decision decision = c.direction() == Direction.INBOUND ? inbound(policy, platform, c, now) : outbound(policy, platform, c);
        Mode mode = c.direction() == Direction.INBOUND ? policy.mode().inbound() : policy.mode().outbound();
        if (decision.verdict() == Verdict.BLOCKED && mode == Mode.MONITOR) {
            return new Decision(Verdict.WOULD_BLOCK, decision.reason(), decision.ruleId(), "");
        }
        return decision;
    }

    private static Decision inbound(PolicyDocument policy, PlatformRules platform, Connection c, Instant now) {
        IPAddress source = c.from().address();
        if (source.isLoopback()) {
            return decide(Verdict.ALLOWED, Reason.PLATFORM, "platform:loopback");
        }
        if (platform.managementRanges().stream().anyMatch(r -> block(r).contains(source))) {
            return decide(Verdict.ALLOWED, Reason.PLATFORM, "platform:management");
        }
        if (policy.mode().inbound() == Mode.OFF) {
            return decide(Verdict.ALLOWED, Reason.MODE_OFF, null);
        }
        boolean icmp = c.proto() == Protocol.ICMP;
        if (!icmp && policy.inbound().ports().stream().noneMatch(r -> r.spec().covers(c.proto(), c.port()))) {
            return decide(Verdict.BLOCKED, Reason.PORT_CLOSED, null);
        }
        List<AllowlistEntry> entries = policy.inbound().allowlist();
        List<Integer> matching = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            AllowlistEntry entry = entries.get(i);
            if (!entry.isExpired(now) && block(entry.cidr()).contains(source)
                    && (icmp || entry.ports().isEmpty() || entry.ports().stream().anyMatch(p -> p.covers(c.proto(), c.port())))) {
                matching.add(i);
            }
        }
        matching.sort(Comparator.comparingInt((Integer i) -> -block(entries.get(i).cidr()).getNetworkPrefixLength()).thenComparingInt(i -> i));
        if (!matching.isEmpty()) {
            int i = matching.get(0);
            return decide(Verdict.ALLOWED, Reason.ALLOWLISTED, entries.get(i).id() != null ? entries.get(i).id() : "inbound.allowlist[" + i + "]");
        }
        if (entries.stream().anyMatch(e -> !e.isExpired(now))) {
            return decide(Verdict.BLOCKED, Reason.NOT_ALLOWLISTED, null);
        }
        Geo geo = policy.inbound().geo();
        boolean listed = c.country() != null && geo.countries().contains(c.country());
        if ((geo.mode() == GeoMode.BLOCK && listed) || (geo.mode() == GeoMode.ALLOW && !listed)) {
            return decide(Verdict.BLOCKED, Reason.GEO, null);
        }
        return decide(Verdict.ALLOWED, Reason.DEFAULT, null);
    }

    private static Decision outbound(PolicyDocument policy, PlatformRules platform, Connection c) {
        Host to = c.to();
        boolean icmp = c.proto() == Protocol.ICMP;
        if (!to.isDomain()) {
            IPAddress address = to.address();
            if (address.isLoopback()) {
                return decide(Verdict.ALLOWED, Reason.PLATFORM, "platform:loopback");
            }
            if (platform.controlPlaneEndpoints().stream().anyMatch(r -> block(r).contains(address))) {
                return decide(Verdict.ALLOWED, Reason.PLATFORM, "platform:control-plane");
            }
            if (!icmp && c.port() == 53 && platform.dnsResolvers().stream().anyMatch(r -> block(r).contains(address))) {
                return decide(Verdict.ALLOWED, Reason.PLATFORM, "platform:dns");
            }
        }
        if (policy.mode().outbound() == Mode.OFF) {
            return decide(Verdict.ALLOWED, Reason.MODE_OFF, null);
        }
        boolean globallyOpen = !icmp && policy.outbound().ports().stream().anyMatch(r -> r.spec().covers(c.proto(), c.port()));
        List<Destination> entries = policy.outbound().destinations();
        List<Integer> matching = new ArrayList<>();
        List<Integer> specificity = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Destination entry = entries.get(i);
            int rank = rank(entry, to);
            boolean portAllowed = icmp || (entry.ports().isEmpty() ? globallyOpen : entry.ports().stream().anyMatch(p -> p.covers(c.proto(), c.port())));
            if (rank >= 0 && portAllowed) {
                matching.add(i);
                specificity.add(rank);
            }
        }
        int best = -1;
        for (int k = 0; k < matching.size(); k++) {
            if (best < 0 || specificity.get(k) > specificity.get(best)) {
                best = k;
            }
        }
        if (best >= 0) {
            int i = matching.get(best);
            return decide(Verdict.ALLOWED, Reason.DESTINATION_ALLOWED, entries.get(i).id() != null ? entries.get(i).id() : "outbound.destinations[" + i + "]");
        }
        if (!icmp && !globallyOpen) {
            return decide(Verdict.BLOCKED, Reason.PORT_CLOSED, null);
        }
        if (policy.outbound().defaultAction() == DefaultAction.DENY) {
            return decide(Verdict.BLOCKED, Reason.UNKNOWN_DESTINATION, null);
        }
        return decide(Verdict.ALLOWED, Reason.DEFAULT, null);
    }

    /** How specifically {@code entry} names {@code to}: higher is more specific, -1 for no match. */
    private static int rank(Destination entry, Host to) {
        if (entry.cidr() != null) {
            return !to.isDomain() && block(entry.cidr()).contains(to.address()) ? block(entry.cidr()).getNetworkPrefixLength() : -1;
        }
        if (!to.isDomain()) {
            return -1;
        }
        String name = to.domain();
        if (entry.domain().startsWith("*.")) {
            String suffix = entry.domain().substring(1);
            return name.endsWith(suffix) && name.length() > suffix.length() ? suffix.length() : -1;
        }
        return name.equals(entry.domain()) ? 10_000 : -1;
    }

    private static final java.util.Map<String, IPAddress> BLOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    private static IPAddress block(String cidr) {
        return BLOCKS.computeIfAbsent(cidr, c -> new IPAddressString(c).getAddress().toPrefixBlock());
    }

    private static Decision decide(Verdict verdict, Reason reason, String ruleId) {
        return new Decision(verdict, reason, ruleId, "");
    }
}
