package dev.clawfence.policy.compile;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.CidrMerger;
import dev.clawfence.policy.Destination;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Compiles a validated policy with the platform's rules and country data at {@code now} into a
 * {@link CompiledPolicy} whose sets give, step by step, the same verdicts as
 * {@link dev.clawfence.policy.Evaluator} for every new connection:
 * <ul>
 *   <li>Allowlist entries that have expired at {@code now} ({@code expiresAt <= now}) are left out;
 *       {@code validUntil} is the earliest {@code expiresAt} after {@code now}.
 *   <li>The allowlist and CIDR destinations become disjoint boxes (address range × protocol × port range);
 *       ICMP echo, which entries match by address alone, uses the merged address sets.
 *   <li>Name destinations are passed on as {@link DomainEntry}s for the agent to resolve.
 * </ul>
 * Platform rules are stripped of surrounding blanks and merged like the evaluator reads them.
 */
public final class PolicyCompiler {

    private PolicyCompiler() {}

    /**
     * @throws IllegalArgumentException when a platform rule or a country's range is not an address or CIDR
     */
    public static CompiledPolicy compile(PolicyDocument policy, PlatformRules platform, CountryRanges countries, Instant now) {
        return new CompiledPolicy(policy.mode(), platform(platform), inbound(policy, countries, now), outbound(policy), validUntil(policy, now));
    }

    /**
     * The compilations that follow {@code compile(policy, platform, countries, now)} as allowlist entries
     * lapse, so that an agent can drop them on time without the control plane: one per distinct
     * {@code expiresAt} after {@code now} and not after {@code horizon}, ascending, at most {@code limit}.
     * Entry {@code i} equals {@code compile(policy, platform, countries, t)} for every {@code t} from its
     * {@code effectiveFrom} until its policy's {@code validUntil}, which is the next entry's
     * {@code effectiveFrom}; the last entry's {@code validUntil} says when the schedule runs out (null
     * when nothing expires after it).
     *
     * @throws IllegalArgumentException when {@code limit} is negative, or as {@link #compile}
     */
    public static List<ScheduledPolicy> schedule(PolicyDocument policy, PlatformRules platform, CountryRanges countries,
            Instant now, int limit, Instant horizon) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be 0 or more, not " + limit);
        }
        return upcoming(policy, platform, countries, now, horizon).limit(limit).toList();
    }

    /**
     * The whole {@link #schedule} up to {@code horizon}, each step compiled only when the stream reaches
     * it: a step costs about one compilation of the inbound half, so a caller that stops early (at a
     * size budget) pays only for the steps it takes.
     */
    public static Stream<ScheduledPolicy> upcoming(PolicyDocument policy, PlatformRules platform, CountryRanges countries,
            Instant now, Instant horizon) {
        List<Instant> instants = policy.inbound().allowlist().stream()
                .map(AllowlistEntry::expiresAt)
                .filter(expiry -> expiry != null && expiry.isAfter(now) && !expiry.isAfter(horizon))
                .distinct().sorted().toList();
        if (instants.isEmpty()) {
            return Stream.empty();
        }
        // Only the inbound half depends on time: platform and outbound are compiled once and shared.
        PlatformSets platformSets = platform(platform);
        CompiledOutbound outbound = outbound(policy);
        return instants.stream().map(at -> new ScheduledPolicy(at,
                new CompiledPolicy(policy.mode(), platformSets, inbound(policy, countries, at), outbound, validUntil(policy, at))));
    }

    /**
     * The compilation in force at {@code at}: the last of {@code schedule} whose {@code effectiveFrom} is
     * not after {@code at}, else {@code main}.
     */
    public static CompiledPolicy inForce(CompiledPolicy main, List<ScheduledPolicy> schedule, Instant at) {
        CompiledPolicy result = main;
        for (ScheduledPolicy step : schedule) {
            if (step.effectiveFrom().isAfter(at)) {
                break;
            }
            result = step.policy();
        }
        return result;
    }

    private static PlatformSets platform(PlatformRules rules) {
        List<String> management = merged(rules.managementRanges());
        List<String> controlPlane = merged(rules.controlPlaneEndpoints());
        List<String> dns = merged(rules.dnsResolvers());
        return new PlatformSets(
                addressSet("mgmt4", management, IpFamily.IPV4), addressSet("mgmt6", management, IpFamily.IPV6),
                addressSet("cp4", controlPlane, IpFamily.IPV4), addressSet("cp6", controlPlane, IpFamily.IPV6),
                addressSet("dns4", dns, IpFamily.IPV4), addressSet("dns6", dns, IpFamily.IPV6));
    }

    private static CompiledInbound inbound(PolicyDocument policy, CountryRanges countries, Instant now) {
        List<AllowlistEntry> live = policy.inbound().allowlist().stream().filter(entry -> !entry.isExpired(now)).toList();
        List<AddressSweep.Entry> v4 = new ArrayList<>();
        List<AddressSweep.Entry> v6 = new ArrayList<>();
        List<String> cidrs = new ArrayList<>();
        for (AllowlistEntry entry : live) {
            AddressRange block = AddressRange.ofBlock(Addresses.block(entry.cidr()));
            List<PortSpec> ports = entry.ports().isEmpty() ? PortRanges.ALL : PortRanges.merge(entry.ports());
            (block.family() == IpFamily.IPV4 ? v4 : v6).add(new AddressSweep.Entry(block, ports));
            cidrs.add(entry.cidr());
        }
        List<String> addresses = CidrMerger.merge(cidrs);
        GeoMode geoMode = policy.inbound().geo().mode();
        List<String> geo = List.of();
        if (geoMode != GeoMode.NONE) {
            List<String> blocks = new ArrayList<>();
            for (String country : policy.inbound().geo().countries()) {
                for (String cidr : countries.cidrs(country)) {
                    blocks.add(cidr.strip());
                }
            }
            geo = CidrMerger.merge(blocks);
        }
        return new CompiledInbound(
                portSet("in_ports", policy.inbound().ports()),
                CompiledSet.of("allow4", SetType.IPV4_BOXES, AddressSweep.boxes(IpFamily.IPV4, v4)),
                CompiledSet.of("allow6", SetType.IPV6_BOXES, AddressSweep.boxes(IpFamily.IPV6, v6)),
                addressSet("allow4_addrs", addresses, IpFamily.IPV4),
                addressSet("allow6_addrs", addresses, IpFamily.IPV6),
                !live.isEmpty(),
                geoMode,
                addressSet("geo4", geo, IpFamily.IPV4),
                addressSet("geo6", geo, IpFamily.IPV6));
    }

    private static CompiledOutbound outbound(PolicyDocument policy) {
        CompiledSet<PortSpec> open = portSet("out_ports", policy.outbound().ports());
        List<AddressSweep.Entry> v4 = new ArrayList<>();
        List<AddressSweep.Entry> v6 = new ArrayList<>();
        List<String> cidrs = new ArrayList<>();
        Map<String, List<PortSpec>> names = new TreeMap<>(Comparator.comparing((String key) -> key.substring(2)).thenComparing(key -> key.charAt(0)));
        for (Destination destination : policy.outbound().destinations()) {
            List<PortSpec> ports = destination.ports().isEmpty() ? open.elements() : PortRanges.merge(destination.ports());
            if (destination.cidr() != null) {
                AddressRange block = AddressRange.ofBlock(Addresses.block(destination.cidr()));
                (block.family() == IpFamily.IPV4 ? v4 : v6).add(new AddressSweep.Entry(block, ports));
                cidrs.add(destination.cidr());
            } else {
                boolean wildcard = destination.domain().startsWith("*.");
                // "e" sorts before "w": for one name, the exact entry comes first.
                String key = (wildcard ? "w." : "e.") + (wildcard ? destination.domain().substring(2) : destination.domain());
                names.merge(key, ports, PortRanges::union);
            }
        }
        List<DomainEntry> domains = new ArrayList<>();
        names.forEach((key, ports) -> domains.add(new DomainEntry(key.substring(2), key.charAt(0) == 'w', ports)));
        List<String> addresses = CidrMerger.merge(cidrs);
        return new CompiledOutbound(
                open,
                CompiledSet.of("dest4", SetType.IPV4_BOXES, AddressSweep.boxes(IpFamily.IPV4, v4)),
                CompiledSet.of("dest6", SetType.IPV6_BOXES, AddressSweep.boxes(IpFamily.IPV6, v6)),
                addressSet("dest4_addrs", addresses, IpFamily.IPV4),
                addressSet("dest6_addrs", addresses, IpFamily.IPV6),
                domains,
                policy.outbound().defaultAction());
    }

    private static Instant validUntil(PolicyDocument policy, Instant now) {
        Instant earliest = null;
        for (AllowlistEntry entry : policy.inbound().allowlist()) {
            Instant expiry = entry.expiresAt();
            if (expiry != null && expiry.isAfter(now) && (earliest == null || expiry.isBefore(earliest))) {
                earliest = expiry;
            }
        }
        return earliest;
    }

    private static List<String> merged(List<String> texts) {
        return CidrMerger.merge(texts.stream().map(text -> text == null ? null : text.strip()).toList());
    }

    private static CompiledSet<AddressRange> addressSet(String name, List<String> mergedCidrs, IpFamily family) {
        return CompiledSet.of(name, SetType.addresses(family), Addresses.ranges(mergedCidrs, family));
    }

    private static CompiledSet<PortSpec> portSet(String name, List<PortRule> rules) {
        return CompiledSet.of(name, SetType.PORTS, PortRanges.merge(rules.stream().map(PortRule::spec).toList()));
    }
}
