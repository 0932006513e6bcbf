package dev.clawfence.policy.render;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Connection;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Destination;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Geo;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.Outbound;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Provenance;
import dev.clawfence.policy.compile.CountryRanges;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Random policies and connections over a small address universe (pieces of the documentation ranges)
 * so that random connections often hit random, nested and expiring entries, country ranges and platform
 * rules. Policies include hostile shapes: deny-all, every port closed, empty and expired allowlists, all
 * mode combinations, and descriptions that try to inject nft syntax.
 */
public final class RandomPolicies {

    public static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
    public static final PlatformRules PLATFORM = new PlatformRules(
            List.of("192.0.2.0/28", "2001:db8:ffff::/48"), List.of("192.0.2.100", "2001:db8:c0::1"), List.of("192.0.2.53", "2001:db8:53::53"));
    static final Map<String, List<String>> COUNTRY_MAP = Map.of(
            "DE", List.of("203.0.113.0/25", "2001:db8:de::/48"),
            "FR", List.of("203.0.113.128/26", "198.51.100.0/24"),
            "US", List.of("192.0.2.128/25", "2001:db8:5::/48"));
    public static final CountryRanges COUNTRIES = CountryRanges.of(COUNTRY_MAP);
    /** Text that must never reach a ruleset. */
    static final String HOSTILE = "\"; flush ruleset; table ip evil { } #";

    private static final List<String> V4_BASES = List.of("203.0.113.", "198.51.100.", "192.0.2.");
    private static final List<String> V6_BASES = List.of("2001:db8::", "2001:db8:1::", "2001:db8:de::", "2001:db8:5::", "2001:db8:ffff::", "2001:db8:53::");
    private static final List<Integer> PORTS = List.of(1, 22, 53, 80, 123, 443, 5432, 8000, 8050, 8080, 8443, 65535);

    private RandomPolicies() {}

    public static Arbitrary<PolicyDocument> policies() {
        Arbitrary<Modes> modes = Combinators.combine(Arbitraries.of(Mode.class), Arbitraries.of(Mode.class)).as(Modes::new);
        Arbitrary<Inbound> inbound = Combinators.combine(allowlistEntries().list().ofMaxSize(6), portRules().list().ofMaxSize(4), geo())
                .as(Inbound::new);
        Arbitrary<Outbound> outbound = Combinators.combine(destinations().list().ofMaxSize(5), portRules().list().ofMaxSize(4),
                Arbitraries.of(DefaultAction.class)).as(Outbound::new);
        return Combinators.combine(modes, inbound, outbound).as((m, in, out) -> new PolicyDocument(m, in, out, List.of()));
    }

    static Arbitrary<Connection> connections() {
        return Combinators.combine(Arbitraries.of(Direction.class), addresses(), Arbitraries.of(Protocol.class), Arbitraries.of(PORTS))
                .as((direction, address, proto, port) -> direction == Direction.INBOUND
                        ? Connection.of(direction, address, null, port, proto, COUNTRY_OF.get(address))
                        : Connection.outbound(address, port, proto));
    }

    static Arbitrary<String> addresses() {
        return Arbitraries.of(ADDRESSES);
    }

    static Arbitrary<String> cidrs() {
        return Arbitraries.of(CIDRS);
    }

    /** The universe, worked out once: generating from fixed lists keeps thousands of tries fast. */
    private static final List<String> ADDRESSES;
    private static final List<String> CIDRS;
    private static final Map<String, String> COUNTRY_OF = new java.util.HashMap<>();

    static {
        List<String> addresses = new java.util.ArrayList<>();
        for (String base : V4_BASES) {
            for (int last : List.of(0, 1, 7, 15, 16, 53, 100, 127, 128, 130, 200, 255)) {
                addresses.add(base + last);
            }
        }
        for (String base : V6_BASES) {
            for (String tail : List.of("0", "1", "53", "ff", "1:0:0:1")) {
                addresses.add(new IPAddressString(base + tail).getAddress().toCanonicalString());
            }
        }
        java.util.Set<String> cidrs = new java.util.TreeSet<>();
        for (String address : addresses) {
            List<Integer> prefixes = address.indexOf(':') < 0 ? List.of(0, 8, 22, 24, 25, 26, 28, 31, 32) : List.of(0, 32, 48, 64, 120, 127, 128);
            for (int prefix : prefixes) {
                cidrs.add(block(address, prefix));
            }
            COUNTRY_OF.put(address, countryOf(address));
        }
        ADDRESSES = List.copyOf(addresses);
        CIDRS = List.copyOf(cidrs);
    }

    /** The country whose (disjoint) test ranges hold {@code address}, or null. */
    static String countryOf(String address) {
        IPAddress host = new IPAddressString(address).getAddress();
        for (var entry : COUNTRY_MAP.entrySet()) {
            for (String cidr : entry.getValue()) {
                if (new IPAddressString(cidr).getAddress().toPrefixBlock().contains(host)) {
                    return entry.getKey();
                }
            }
        }
        return null;
    }

    private static String block(String address, int prefix) {
        IPAddress block = new IPAddressString(address).getAddress().toPrefixBlock(prefix);
        return block.getLower().withoutPrefixLength().toCanonicalString() + "/" + prefix;
    }

    static Arbitrary<PortSpec> portSpecs() {
        Arbitrary<PortSpec> single = Combinators.combine(Arbitraries.of(Protocol.TCP, Protocol.UDP), Arbitraries.of(PORTS))
                .as((proto, port) -> new PortSpec(proto, port, null));
        Arbitrary<PortSpec> range = Combinators.combine(Arbitraries.of(Protocol.TCP, Protocol.UDP), Arbitraries.of(PORTS), Arbitraries.integers().between(0, 9000))
                .as((proto, port, width) -> new PortSpec(proto, port, Math.min(65535, port + width)));
        Arbitrary<PortSpec> everything = Arbitraries.of(Protocol.TCP, Protocol.UDP).map(proto -> new PortSpec(proto, 1, 65535));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, single), net.jqwik.api.Tuple.of(3, range), net.jqwik.api.Tuple.of(1, everything));
    }

    static Arbitrary<PortRule> portRules() {
        return portSpecs().map(spec -> new PortRule("p-" + spec.port(), spec, HOSTILE, HOSTILE, Provenance.NONE));
    }

    static Arbitrary<AllowlistEntry> allowlistEntries() {
        Arbitrary<Instant> expiry = Arbitraries.of(-48L, -1L, 0L, 1L, 2L, 72L).map(hours -> NOW.plus(Duration.ofHours(hours))).injectNull(0.5);
        return Combinators.combine(cidrs(), portSpecs().list().ofMaxSize(3), expiry)
                .as((cidr, ports, expiresAt) -> new AllowlistEntry("in-x", cidr, ports, HOSTILE, HOSTILE, expiresAt, Provenance.NONE));
    }

    static Arbitrary<Destination> destinations() {
        Arbitrary<Destination> byCidr = Combinators.combine(cidrs(), portSpecs().list().ofMaxSize(3))
                .as((cidr, ports) -> new Destination("out-x", cidr, null, ports, HOSTILE, HOSTILE, Provenance.NONE));
        Arbitrary<Destination> byName = Combinators.combine(Arbitraries.of("example.com", "*.example.com", "api.example.com", "other.org"),
                portSpecs().list().ofMaxSize(2)).as((name, ports) -> new Destination("out-y", null, name, ports, HOSTILE, HOSTILE, Provenance.NONE));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, byCidr), net.jqwik.api.Tuple.of(1, byName));
    }

    static Arbitrary<Geo> geo() {
        return Combinators.combine(Arbitraries.of(GeoMode.class), Arbitraries.of("DE", "FR", "US", "JP").set().ofMaxSize(3))
                .as((mode, countries) -> mode == GeoMode.NONE ? Geo.NONE : new Geo(mode, countries.stream().sorted().toList()));
    }
}
