package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static org.assertj.core.api.Assertions.assertThat;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Properties over random policies and connections. Addresses come from a small universe (parts of
 * the documentation ranges, loopback and the platform's ranges) so that random connections often hit
 * random entries, nested entries and platform rules.
 */
class PolicyPropertyTest {

    static final PlatformRules PLATFORM = new PlatformRules(List.of("192.0.2.0/28"), List.of("192.0.2.100"), List.of("192.0.2.53", "2001:db8:53::53"));

    private static final List<String> NAMES = List.of("example.com", "api.example.com", "a.eu.example.com", "eu.example.com", "other.org", "x.api.example.com");
    private static final List<String> NAME_ENTRIES = List.of("example.com", "api.example.com", "*.example.com", "*.eu.example.com", "*.api.example.com", "other.org");
    private static final List<Integer> PORTS = List.of(22, 53, 80, 443, 8080);

    @Property(tries = 250)
    void compiledEvaluatorAgreesWithTheReference(@ForAll("policies") PolicyDocument policy, @ForAll("connections") List<Connection> connections,
            @ForAll("times") Instant now) {
        Evaluator evaluator = Evaluator.compile(policy, PLATFORM);
        for (Connection connection : connections) {
            Decision fast = evaluator.evaluate(connection, now);
            Decision model = ReferenceEvaluator.evaluate(policy, PLATFORM, connection, now);
            assertThat(List.<Object>of(fast.verdict(), fast.reason(), String.valueOf(fast.ruleId())))
                    .as("%s at %s: %s", PolicyDocumentWriter.connection(connection), now, fast.explanation())
                    .isEqualTo(List.<Object>of(model.verdict(), model.reason(), String.valueOf(model.ruleId())));
        }
    }

    @Property(tries = 100)
    void evaluationIsDeterministic(@ForAll("policies") PolicyDocument policy, @ForAll("connections") List<Connection> connections,
            @ForAll("times") Instant now) {
        Evaluator first = Evaluator.compile(policy, PLATFORM);
        Evaluator second = Evaluator.compile(policy, PLATFORM);
        for (Connection connection : connections) {
            Decision decision = first.evaluate(connection, now);
            assertThat(first.evaluate(connection, now)).isEqualTo(decision);
            assertThat(second.evaluate(connection, now)).isEqualTo(decision);
        }
    }

    /**
     * Adding an entry to an allowlist that is already active never blocks what was allowed. (Adding the
     * first entry does: it switches the allowlist on, which is what an allowlist is for.)
     */
    @Property(tries = 200)
    void addingAnAllowlistEntryNeverBlocksWhatWasAllowed(@ForAll("policies") PolicyDocument policy, @ForAll("allowlistEntries") AllowlistEntry extra,
            @ForAll("connections") List<Connection> connections, @ForAll("times") Instant now) {
        if (policy.inbound().allowlist().stream().allMatch(e -> e.isExpired(now))) {
            return;
        }
        Inbound in = policy.inbound();
        List<AllowlistEntry> more = new ArrayList<>(in.allowlist());
        more.add(extra.withId("in-extra"));
        PolicyDocument widened = policy.withInbound(new Inbound(more, in.ports(), in.geo()));
        Evaluator before = Evaluator.compile(policy, PLATFORM);
        Evaluator after = Evaluator.compile(widened, PLATFORM);
        for (Connection connection : connections) {
            if (before.evaluate(connection, now).verdict() == Verdict.ALLOWED) {
                assertThat(after.evaluate(connection, now).verdict()).isEqualTo(Verdict.ALLOWED);
            }
        }
    }

    @Property(tries = 100)
    void monitorModeNeverBlocks(@ForAll("policies") PolicyDocument policy, @ForAll("connections") List<Connection> connections,
            @ForAll("times") Instant now) {
        Evaluator evaluator = Evaluator.compile(policy.withMode(new Modes(Mode.MONITOR, Mode.MONITOR)), PLATFORM);
        Evaluator enforcing = Evaluator.compile(policy.withMode(new Modes(Mode.ENFORCE, Mode.ENFORCE)), PLATFORM);
        for (Connection connection : connections) {
            Decision monitored = evaluator.evaluate(connection, now);
            assertThat(monitored.verdict()).isNotEqualTo(Verdict.BLOCKED);
            Decision enforced = enforcing.evaluate(connection, now);
            assertThat(monitored.verdict() == Verdict.WOULD_BLOCK).isEqualTo(enforced.verdict() == Verdict.BLOCKED);
            assertThat(monitored.reason()).isEqualTo(enforced.reason());
        }
    }

    @Property(tries = 200)
    void writingThenValidatingGivesAnEqualDocument(@ForAll("policies") PolicyDocument policy, @ForAll("connections") List<Connection> connections) {
        List<PolicyTest> tests = new ArrayList<>();
        for (int i = 0; i < connections.size(); i++) {
            tests.add(new PolicyTest(connections.get(i), i % 2 == 0 ? Verdict.ALLOWED : Verdict.BLOCKED));
        }
        PolicyDocument document = policy.withTests(tests);
        Validated<PolicyDocument> read = PolicyValidator.validate(PolicyDocumentWriter.toTree(document), NOW);
        assertThat(read.errors()).isEmpty();
        assertThat(read.value()).isEqualTo(document);
    }

    // ---- generators

    @Provide
    Arbitrary<Instant> times() {
        return Arbitraries.of(NOW, NOW.plus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(40)));
    }

    @Provide
    Arbitrary<PolicyDocument> policies() {
        Arbitrary<Modes> modes = Combinators.combine(Arbitraries.of(Mode.class), Arbitraries.of(Mode.class)).as(Modes::new);
        Arbitrary<List<AllowlistEntry>> allowlist = allowlistEntries().list().ofMaxSize(12);
        Arbitrary<List<PortRule>> inPorts = portRules().list().ofMaxSize(3);
        Arbitrary<Geo> geo = Combinators.combine(Arbitraries.of(GeoMode.class), Arbitraries.of("DE", "FR", "US").set().ofMaxSize(2))
                .as((mode, countries) -> new Geo(mode, countries.stream().sorted().toList()));
        Arbitrary<List<Destination>> destinations = destinations().list().ofMaxSize(10);
        Arbitrary<List<PortRule>> outPorts = portRules().list().ofMaxSize(3);
        Arbitrary<DefaultAction> action = Arbitraries.of(DefaultAction.class);
        return Combinators.combine(modes, allowlist, inPorts, geo, destinations, outPorts, action).as((m, a, ip, g, d, op, da) -> {
            List<AllowlistEntry> entries = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                entries.add(i % 3 == 2 ? a.get(i) : a.get(i).withId("in-" + i));
            }
            List<Destination> dests = new ArrayList<>();
            for (int i = 0; i < d.size(); i++) {
                dests.add(i % 3 == 2 ? d.get(i) : d.get(i).withId("out-" + i));
            }
            List<PortRule> inRules = new ArrayList<>();
            for (int i = 0; i < ip.size(); i++) {
                inRules.add(ip.get(i).withId("port-in-" + i));
            }
            return new PolicyDocument(m, new Inbound(entries, inRules, g), new Outbound(dests, op, da), List.of());
        });
    }

    @Provide
    Arbitrary<AllowlistEntry> allowlistEntries() {
        Arbitrary<Instant> expiry = Arbitraries.of(Duration.ofMinutes(30), Duration.ofDays(1), Duration.ofDays(30))
                .map(NOW::plus).injectNull(0.6);
        return Combinators.combine(blocks(), portSpecs().list().ofMaxSize(2), expiry)
                .as((cidr, ports, expires) -> new AllowlistEntry(null, cidr, ports, "Entry " + cidr, "alice@example.com", expires, Provenance.NONE));
    }

    Arbitrary<Destination> destinations() {
        Arbitrary<Destination> byCidr = Combinators.combine(blocks(), portSpecs().list().ofMaxSize(2))
                .as((cidr, ports) -> new Destination(null, cidr, null, ports, "To " + cidr, "bob@example.com", Provenance.NONE));
        Arbitrary<Destination> byName = Combinators.combine(Arbitraries.of(NAME_ENTRIES), portSpecs().list().ofMaxSize(2))
                .as((name, ports) -> new Destination(null, null, name, ports, "To " + name, "bob@example.com", Provenance.NONE));
        return Arbitraries.oneOf(byCidr, byName);
    }

    Arbitrary<PortRule> portRules() {
        return portSpecs().map(spec -> new PortRule(null, spec, "Port " + spec, null, Provenance.NONE));
    }

    Arbitrary<PortSpec> portSpecs() {
        return Combinators.combine(Arbitraries.of(Protocol.TCP, Protocol.UDP), Arbitraries.of(PORTS), Arbitraries.of(0, 0, 0, 1, 100))
                .as((proto, port, width) -> new PortSpec(proto, port, width == 0 ? null : port + width));
    }

    /** Canonical CIDRs, nested often: /24 to /32 in two IPv4 documentation networks, /120 to /128 in IPv6. */
    Arbitrary<String> blocks() {
        Arbitrary<String> v4 = Combinators.combine(Arbitraries.of("198.51.100.", "203.0.113."), Arbitraries.integers().between(0, 255),
                Arbitraries.integers().between(24, 32)).as((net, host, prefix) -> canonical(net + host, prefix));
        Arbitrary<String> v6 = Combinators.combine(Arbitraries.integers().between(0, 255), Arbitraries.integers().between(120, 128))
                .as((host, prefix) -> canonical("2001:db8::" + Integer.toHexString(host), prefix));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, v4), net.jqwik.api.Tuple.of(1, v6));
    }

    @Provide
    Arbitrary<List<Connection>> connections() {
        Arbitrary<String> v4 = Combinators.combine(Arbitraries.of("198.51.100.", "203.0.113.", "192.0.2."), Arbitraries.integers().between(0, 255))
                .as((net, host) -> net + host);
        Arbitrary<String> v6 = Arbitraries.integers().between(0, 255).map(host -> "2001:db8::" + Integer.toHexString(host));
        Arbitrary<String> special = Arbitraries.of("127.0.0.1", "::1", "192.0.2.53", "2001:db8:53::53", "192.0.2.100");
        Arbitrary<String> address = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, v4), net.jqwik.api.Tuple.of(3, v6), net.jqwik.api.Tuple.of(1, special));
        Arbitrary<String> destination = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, address), net.jqwik.api.Tuple.of(2, Arbitraries.of(NAMES)));
        Arbitrary<Protocol> proto = Arbitraries.of(Protocol.TCP, Protocol.TCP, Protocol.UDP, Protocol.ICMP);
        Arbitrary<Integer> port = Arbitraries.oneOf(Arbitraries.of(PORTS), Arbitraries.integers().between(1, 65535), Arbitraries.of(81, 8180, 444));
        Arbitrary<String> country = Arbitraries.of("DE", "FR", "US", "BR").injectNull(0.3);
        Arbitrary<Connection> inbound = Combinators.combine(address, proto, port, country)
                .as((from, p, n, c) -> Connection.of(Direction.INBOUND, from, null, n, p, c));
        Arbitrary<Connection> outbound = Combinators.combine(destination, proto, port)
                .as((to, p, n) -> Connection.of(Direction.OUTBOUND, null, to, n, p, null));
        return Arbitraries.oneOf(inbound, outbound).list().ofMinSize(1).ofMaxSize(30);
    }

    private static String canonical(String address, int prefix) {
        IPAddress block = new IPAddressString(address).getAddress().toPrefixBlock(prefix);
        return AddressSyntax.canonical(block);
    }
}
