package dev.clawfence.policy.compile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Destination;
import dev.clawfence.policy.Geo;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Outbound;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Provenance;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyCompilerTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
    private static final PlatformRules PLATFORM = new PlatformRules(
            List.of(" 192.0.2.0/28 ", "192.0.2.16/28", "2001:db8:ffff::/48"), List.of("192.0.2.100"), List.of("192.0.2.53", "2001:db8:53::53"));

    // Tiny builders: allow("203.0.113.0/24", tcp(443)), dest("198.51.100.0/24").

    static AllowlistEntry allow(String cidr, PortSpec... ports) {
        return allowUntil(cidr, null, ports);
    }

    static AllowlistEntry allowUntil(String cidr, Instant expiresAt, PortSpec... ports) {
        return new AllowlistEntry("in-1", cidr, List.of(ports), "secret description", "someone", expiresAt, Provenance.NONE);
    }

    static Destination dest(String cidrOrDomain, PortSpec... ports) {
        boolean cidr = Character.isDigit(cidrOrDomain.charAt(0)) || cidrOrDomain.contains(":");
        return new Destination("out-1", cidr ? cidrOrDomain : null, cidr ? null : cidrOrDomain, List.of(ports), "secret description", "someone", Provenance.NONE);
    }

    static PortSpec tcp(int port) {
        return PortSpec.tcp(port);
    }

    static PortSpec tcp(int port, int end) {
        return new PortSpec(Protocol.TCP, port, end);
    }

    static PortSpec udp(int port) {
        return PortSpec.udp(port);
    }

    static PortSpec udp(int port, int end) {
        return new PortSpec(Protocol.UDP, port, end);
    }

    static PortRule rule(PortSpec spec) {
        return new PortRule("p-1", spec, "secret", null, Provenance.NONE);
    }

    static PolicyDocument inbound(List<PortSpec> ports, AllowlistEntry... entries) {
        return PolicyDocument.defaultPolicy().withMode(new Modes(Mode.ENFORCE, Mode.ENFORCE))
                .withInbound(new Inbound(List.of(entries), ports.stream().map(PolicyCompilerTest::rule).toList(), Geo.NONE));
    }

    static PolicyDocument outbound(List<PortSpec> ports, DefaultAction action, Destination... destinations) {
        return PolicyDocument.defaultPolicy().withMode(new Modes(Mode.ENFORCE, Mode.ENFORCE))
                .withOutbound(new Outbound(List.of(destinations), ports.stream().map(PolicyCompilerTest::rule).toList(), action));
    }

    static CompiledPolicy compile(PolicyDocument policy) {
        return PolicyCompiler.compile(policy, PLATFORM, CountryRanges.NONE, NOW);
    }

    static List<String> texts(CompiledSet<?> set) {
        return set.elements().stream().map(Object::toString).toList();
    }

    @Test
    void nestedEntriesBecomeDisjointBoxesWithTheUnionOfTheirPorts() {
        CompiledPolicy compiled = compile(inbound(List.of(tcp(443)),
                allow("198.51.100.0/24", tcp(443)),
                allow("198.51.100.128/25", tcp(22)),
                allow("198.51.100.130/32"),
                allow("198.51.100.0/24", udp(53))));
        assertThat(texts(compiled.inbound().allow4())).containsExactly(
                "198.51.100.0/25 tcp/443",
                "198.51.100.0/25 udp/53",
                "198.51.100.128/31 tcp/22",
                "198.51.100.128/31 tcp/443",
                "198.51.100.128/31 udp/53",
                "198.51.100.130/32 tcp/1-65535",
                "198.51.100.130/32 udp/1-65535",
                "198.51.100.131-198.51.100.255 tcp/22",
                "198.51.100.131-198.51.100.255 tcp/443",
                "198.51.100.131-198.51.100.255 udp/53");
        assertThat(texts(compiled.inbound().allowAddresses4())).containsExactly("198.51.100.0/24");
        assertThat(compiled.inbound().allow6().elements()).isEmpty();
        assertThat(compiled.inbound().allowlistActive()).isTrue();
    }

    @Test
    void adjacentIntervalsWithEqualPortsAreJoinedAndOverlappingPortsMerged() {
        CompiledPolicy compiled = compile(inbound(List.of(),
                allow("203.0.113.0/25", tcp(80, 90), tcp(85, 100), tcp(101)),
                allow("203.0.113.128/25", tcp(80, 101)),
                allow("2001:db8::/33", udp(53)),
                allow("2001:db8:8000::/33", udp(53))));
        assertThat(texts(compiled.inbound().allow4())).containsExactly("203.0.113.0/24 tcp/80-101");
        assertThat(texts(compiled.inbound().allow6())).containsExactly("2001:db8::/32 udp/53");
    }

    @Test
    void boxesNeverOverlap() {
        List<AllowlistEntry> entries = new ArrayList<>();
        String[] cidrs = {"0.0.0.0/0", "198.51.100.0/24", "198.51.100.0/25", "198.51.100.64/26", "198.51.100.64/32", "198.51.100.200/32", "203.0.113.0/24"};
        PortSpec[][] ports = {{tcp(443)}, {tcp(1, 1000)}, {}, {udp(53), tcp(8080)}, {tcp(443)}, {tcp(22)}, {udp(1, 65535)}};
        for (int i = 0; i < cidrs.length; i++) {
            entries.add(allow(cidrs[i], ports[i]));
        }
        List<Box> boxes = compile(inbound(List.of(tcp(443)), entries.toArray(AllowlistEntry[]::new))).inbound().allow4().elements();
        for (int i = 0; i < boxes.size(); i++) {
            for (int j = i + 1; j < boxes.size(); j++) {
                assertThat(overlap(boxes.get(i), boxes.get(j))).as("%s and %s", boxes.get(i), boxes.get(j)).isFalse();
            }
        }
        assertThat(boxes).isSorted();
    }

    private static boolean overlap(Box a, Box b) {
        boolean addresses = a.addresses().first().getValue().compareTo(b.addresses().last().getValue()) <= 0
                && b.addresses().first().getValue().compareTo(a.addresses().last().getValue()) <= 0;
        boolean ports = a.ports().proto() == b.ports().proto() && a.ports().port() <= b.ports().last() && b.ports().port() <= a.ports().last();
        return addresses && ports;
    }

    @Test
    void expiredEntriesAreLeftOutAndTheEarliestFutureExpiryBoundsTheResult() {
        CompiledPolicy compiled = compile(inbound(List.of(tcp(443)),
                allowUntil("203.0.113.10/32", NOW.minusSeconds(60)),
                allowUntil("203.0.113.20/32", NOW),
                allowUntil("203.0.113.30/32", NOW.plusSeconds(7200)),
                allowUntil("203.0.113.40/32", NOW.plusSeconds(3600)),
                allow("203.0.113.64/26")));
        assertThat(texts(compiled.inbound().allowAddresses4())).containsExactly("203.0.113.30/32", "203.0.113.40/32", "203.0.113.64/26");
        assertThat(compiled.validUntil()).isEqualTo(NOW.plusSeconds(3600));
        assertThat(compiled.inbound().allowlistActive()).isTrue();
    }

    @Test
    void anAllowlistOfExpiredEntriesIsInactive() {
        CompiledPolicy compiled = compile(inbound(List.of(tcp(443)), allowUntil("203.0.113.10/32", NOW)));
        assertThat(compiled.inbound().allowlistActive()).isFalse();
        assertThat(compiled.inbound().allow4().elements()).isEmpty();
        assertThat(compiled.validUntil()).isNull();
    }

    @Test
    void openPortsAreMergedPerProtocol() {
        CompiledPolicy compiled = compile(inbound(List.of(udp(53), tcp(8000, 8080), tcp(443), tcp(8081), tcp(8050, 8060), udp(54))));
        assertThat(texts(compiled.inbound().openPorts())).containsExactly("tcp/443", "tcp/8000-8081", "udp/53-54");
    }

    @Test
    void destinationsUseTheirOwnPortsOrTheOpenPorts() {
        CompiledPolicy compiled = compile(outbound(List.of(tcp(443), udp(123)), DefaultAction.DENY,
                dest("198.51.100.0/24"),
                dest("198.51.100.16/28", tcp(5432)),
                dest("2001:db8:2::/48", tcp(22)),
                dest("api.example.com"),
                dest("*.example.com", tcp(8443)),
                dest("example.com", tcp(80)),
                dest("api.example.com", tcp(8080))));
        assertThat(texts(compiled.outbound().destinations4())).containsExactly(
                "198.51.100.0/28 tcp/443", "198.51.100.0/28 udp/123",
                "198.51.100.16/28 tcp/443", "198.51.100.16/28 tcp/5432", "198.51.100.16/28 udp/123",
                "198.51.100.32-198.51.100.255 tcp/443", "198.51.100.32-198.51.100.255 udp/123");
        assertThat(texts(compiled.outbound().destinations6())).containsExactly("2001:db8:2::/48 tcp/22");
        assertThat(texts(compiled.outbound().destinationAddresses4())).containsExactly("198.51.100.0/24");
        assertThat(compiled.outbound().domains()).containsExactly(
                new DomainEntry("api.example.com", false, List.of(tcp(443), tcp(8080), udp(123))),
                new DomainEntry("example.com", false, List.of(tcp(80))),
                new DomainEntry("example.com", true, List.of(tcp(8443))));
        assertThat(compiled.outbound().defaultAction()).isEqualTo(DefaultAction.DENY);
    }

    @Test
    void aDestinationWithoutPortsOpensNothingWhenNoPortIsOpenButStillMatchesEcho() {
        CompiledPolicy compiled = compile(outbound(List.of(), DefaultAction.DENY, dest("198.51.100.0/24")));
        assertThat(compiled.outbound().destinations4().elements()).isEmpty();
        assertThat(texts(compiled.outbound().destinationAddresses4())).containsExactly("198.51.100.0/24");
    }

    @Test
    void platformRulesAreStrippedMergedAndSplitByFamily() {
        CompiledPolicy compiled = compile(PolicyDocument.defaultPolicy());
        assertThat(texts(compiled.platform().management4())).containsExactly("192.0.2.0/27");
        assertThat(texts(compiled.platform().management6())).containsExactly("2001:db8:ffff::/48");
        assertThat(texts(compiled.platform().controlPlane4())).containsExactly("192.0.2.100/32");
        assertThat(compiled.platform().controlPlane6().elements()).isEmpty();
        assertThat(texts(compiled.platform().dns6())).containsExactly("2001:db8:53::53/128");
    }

    @Test
    void badPlatformRulesAndCountryRangesAreRefused() {
        assertThatThrownBy(() -> PolicyCompiler.compile(PolicyDocument.defaultPolicy(), new PlatformRules(List.of("10.0.0.1/8"), List.of(), List.of()),
                CountryRanges.NONE, NOW)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("10.0.0.1/8");
        PolicyDocument geo = PolicyDocument.defaultPolicy().withInbound(new Inbound(List.of(), List.of(), new Geo(GeoMode.BLOCK, List.of("DE"))));
        assertThatThrownBy(() -> PolicyCompiler.compile(geo, PLATFORM, CountryRanges.of(Map.of("DE", List.of("not-a-cidr"))), NOW))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void countrySetsAreMergedOnlyWhenGeoIsOn() {
        CountryRanges countries = CountryRanges.of(Map.of("DE", List.of("203.0.113.0/25", "203.0.113.128/25", "2001:db8:de::/48"), "FR", List.of("198.51.100.0/24")));
        PolicyDocument on = PolicyDocument.defaultPolicy().withInbound(new Inbound(List.of(), List.of(), new Geo(GeoMode.ALLOW, List.of("DE", "FR", "JP"))));
        CompiledPolicy compiled = PolicyCompiler.compile(on, PLATFORM, countries, NOW);
        assertThat(texts(compiled.inbound().geo4())).containsExactly("198.51.100.0/24", "203.0.113.0/24");
        assertThat(texts(compiled.inbound().geo6())).containsExactly("2001:db8:de::/48");
        assertThat(compiled.inbound().geoMode()).isEqualTo(GeoMode.ALLOW);
        CompiledPolicy off = PolicyCompiler.compile(PolicyDocument.defaultPolicy(), PLATFORM, countries, NOW);
        assertThat(off.inbound().geo4().elements()).isEmpty();
    }

    @Test
    void hashesFollowContentNotNames() {
        CompiledPolicy a = compile(inbound(List.of(tcp(443)), allow("203.0.113.0/24", tcp(22))));
        CompiledPolicy b = compile(inbound(List.of(tcp(443)), allow("203.0.113.0/25", tcp(22)), allow("203.0.113.128/25", tcp(22))));
        CompiledPolicy c = compile(inbound(List.of(tcp(443)), allow("203.0.113.0/24", tcp(23))));
        assertThat(b.inbound().allow4().hash()).isEqualTo(a.inbound().allow4().hash());
        assertThat(c.inbound().allow4().hash()).isNotEqualTo(a.inbound().allow4().hash());
        assertThat(a.inbound().allow4().hash()).matches("[0-9a-f]{64}");
        assertThat(a.inbound().openPorts().hash()).isEqualTo(a.outbound().openPorts().hash());
        assertThat(a.inbound().allowAddresses4().hash()).isNotEqualTo(c.inbound().allow4().hash());
        assertThat(compile(PolicyDocument.defaultPolicy()).sets().stream().map(CompiledSet::hash).toList())
                .isEqualTo(compile(PolicyDocument.defaultPolicy()).sets().stream().map(CompiledSet::hash).toList());
    }

    @Test
    void setNamesAreDistinctAndStable() {
        List<String> names = compile(PolicyDocument.defaultPolicy()).sets().stream().map(CompiledSet::name).toList();
        Set<String> distinct = new HashSet<>(names);
        assertThat(distinct).hasSameSizeAs(names);
        assertThat(names).containsExactly("mgmt4", "mgmt6", "cp4", "cp6", "dns4", "dns6", "in_ports", "allow4", "allow6", "allow4_addrs",
                "allow6_addrs", "geo4", "geo6", "out_ports", "dest4", "dest6", "dest4_addrs", "dest6_addrs");
    }

    @Test
    void aSetRefusesAForgedHash() {
        assertThat(new CompiledSet<>("x", SetType.PORTS, List.of(tcp(1)), "0".repeat(64)).hashMatches()).isFalse();
        assertThat(CompiledSet.of("x", SetType.PORTS, List.of(tcp(1))).hashMatches()).isTrue();
        assertThatThrownBy(() -> new CompiledSet<>("x", SetType.PORTS, List.of(tcp(1)), "not a hash")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CompiledSet.of("Bad-Name", SetType.PORTS, List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({
        "192.0.2.0, 192.0.2.255, 192.0.2.0/24",
        "192.0.2.7, 192.0.2.7, 192.0.2.7/32",
        "192.0.2.1, 192.0.2.9, 192.0.2.1-192.0.2.9",
        "2001:db8::, 2001:db8::ff, 2001:db8::/120",
        "2001:db8::1, 2001:db8::5, 2001:db8::1-2001:db8::5",
        "0.0.0.0, 255.255.255.255, 0.0.0.0/0",
        "0.0.0.0, 127.255.255.255, 0.0.0.0/1",
        "0.0.0.1, 0.0.0.2, 0.0.0.1-0.0.0.2",
        "192.0.2.2, 192.0.2.3, 192.0.2.2/31",
        "::, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ::/0",
        "2001:db8:0:2::, 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff, 2001:db8:0:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    })
    void addressRangesPrintAsCidrsWhenTheyAreOneBlock(String first, String last, String text) {
        AddressRange range = new AddressRange(new inet.ipaddr.IPAddressString(first).getAddress(), new inet.ipaddr.IPAddressString(last).getAddress());
        assertThat(range).hasToString(text);
    }

    @Test
    void noUserTextIsCarried() {
        CompiledPolicy compiled = compile(inbound(List.of(tcp(443)), allow("203.0.113.0/24")));
        assertThat(compiled.toString()).doesNotContain("secret").doesNotContain("someone");
        assertThat(Arrays.stream(CompiledPolicy.class.getRecordComponents()).map(c -> c.getName()))
                .containsExactly("modes", "platform", "inbound", "outbound", "validUntil");
    }
}
