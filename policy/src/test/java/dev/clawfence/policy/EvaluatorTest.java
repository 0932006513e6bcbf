package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static dev.clawfence.policy.PolicyTree.allow;
import static dev.clawfence.policy.PolicyTree.policy;
import static dev.clawfence.policy.PolicyTree.tcp;
import static dev.clawfence.policy.PolicyTree.to;
import static dev.clawfence.policy.PolicyTree.udp;
import static dev.clawfence.policy.PolicyTree.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EvaluatorTest {

    private static final PlatformRules PLATFORM = new PlatformRules(
            List.of("192.0.2.0/28", "2001:db8:ffff::/48"), List.of("192.0.2.100"), List.of("192.0.2.53", "2001:db8:53::53"));

    private static PolicyTree enforcedIn() {
        return policy().inboundMode("enforce");
    }

    private static PolicyTree enforcedOut() {
        return policy().outboundMode("enforce");
    }

    static Stream<Arguments> inboundCases() {
        return Stream.of(
                row("loopback v4 beats everything", enforcedIn().inboundPorts(), in("127.0.0.1", 22), "allowed", "platform", "platform:loopback"),
                row("loopback v6", enforcedIn().inboundPorts(), in("::1", 22), "allowed", "platform", "platform:loopback"),
                row("management range", enforcedIn().inboundPorts(), in("192.0.2.9", 22), "allowed", "platform", "platform:management"),
                row("management range v6", enforcedIn().inboundPorts(), in("2001:db8:ffff::7", 22), "allowed", "platform", "platform:management"),
                row("just outside management range", enforcedIn().inboundPorts(), in("192.0.2.16", 22), "blocked", "port-closed", null),
                row("mode off accepts a closed port", policy().inboundPorts(), in("203.0.113.9", 22), "allowed", "mode-off", null),
                row("port closed", enforcedIn(), in("203.0.113.9", 22), "blocked", "port-closed", null),
                row("udp is not tcp", enforcedIn(), Connection.inbound("203.0.113.9", 443, Protocol.UDP), "blocked", "port-closed", null),
                row("port in a range", enforcedIn().inboundPorts(tcp(8000, 8080)), in("203.0.113.9", 8080), "allowed", "default", null),
                row("port after a range", enforcedIn().inboundPorts(tcp(8000, 8080)), in("203.0.113.9", 8081), "blocked", "port-closed", null),
                row("port closed even for an allowlisted source", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-a")),
                        in("203.0.113.9", 22), "blocked", "port-closed", null),
                row("allowlisted", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-a")), in("203.0.113.9", 443), "allowed", "allowlisted", "in-a"),
                row("allowlisted v6", enforcedIn().allowlist(id(allow("2001:db8::/32"), "in-a")), in("2001:db8::9", 443), "allowed", "allowlisted", "in-a"),
                row("v4 source never matches a v6 entry", enforcedIn().allowlist(id(allow("::/0"), "in-a")), in("203.0.113.9", 443),
                        "blocked", "not-allowlisted", null),
                row("not allowlisted", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-a")), in("198.51.100.1", 443),
                        "blocked", "not-allowlisted", null),
                row("entry ports do not cover", enforcedIn().inboundPorts(tcp(443), tcp(22)).allowlist(id(allow("203.0.113.0/24", tcp(443)), "in-a")),
                        in("203.0.113.9", 22), "blocked", "not-allowlisted", null),
                row("entry ports cover", enforcedIn().inboundPorts(tcp(443), tcp(22)).allowlist(id(allow("203.0.113.0/24", tcp(22)), "in-a")),
                        in("203.0.113.9", 22), "allowed", "allowlisted", "in-a"),
                row("most specific entry decides", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-wide"), id(allow("203.0.113.8/29"), "in-narrow")),
                        in("203.0.113.9", 443), "allowed", "allowlisted", "in-narrow"),
                row("document order breaks ties", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-first"), id(allow("203.0.113.0/24"), "in-second")),
                        in("203.0.113.9", 443), "allowed", "allowlisted", "in-first"),
                row("narrow entry without the port falls back to the wide one",
                        enforcedIn().inboundPorts(tcp(443), tcp(22)).allowlist(id(allow("203.0.113.0/24"), "in-wide"), id(allow("203.0.113.9/32", tcp(443)), "in-narrow")),
                        in("203.0.113.9", 22), "allowed", "allowlisted", "in-wide"),
                row("unexpired entry matches", enforcedIn().allowlist(id(with(allow("203.0.113.0/24"), "expiresAt", "2026-11-24T10:00:01Z"), "in-a")),
                        in("203.0.113.9", 443), "allowed", "allowlisted", "in-a"),
                row("geo block listed country", enforcedIn().geo("block", "DE"), in("203.0.113.9", 443, "DE"), "blocked", "geo", null),
                row("geo block other country", enforcedIn().geo("block", "DE"), in("203.0.113.9", 443, "FR"), "allowed", "default", null),
                row("geo block unknown country passes", enforcedIn().geo("block", "DE"), in("203.0.113.9", 443, null), "allowed", "default", null),
                row("geo allow listed country", enforcedIn().geo("allow", "DE"), in("203.0.113.9", 443, "DE"), "allowed", "default", null),
                row("geo allow other country", enforcedIn().geo("allow", "DE"), in("203.0.113.9", 443, "FR"), "blocked", "geo", null),
                row("geo allow unknown country", enforcedIn().geo("allow", "DE"), in("203.0.113.9", 443, null), "blocked", "geo", null),
                row("allowlist beats geo", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-a")).geo("block", "DE"),
                        in("203.0.113.9", 443, "DE"), "allowed", "allowlisted", "in-a"),
                row("monitor turns block into would-block", policy().inboundMode("monitor"), in("203.0.113.9", 22), "would-block", "port-closed", null),
                row("monitor keeps allowed", policy().inboundMode("monitor").allowlist(id(allow("203.0.113.0/24"), "in-a")), in("203.0.113.9", 443),
                        "allowed", "allowlisted", "in-a"),
                row("monitor not-allowlisted", policy().inboundMode("monitor").allowlist(id(allow("203.0.113.0/24"), "in-a")), in("198.51.100.1", 443),
                        "would-block", "not-allowlisted", null),
                row("icmp skips the port step", enforcedIn().inboundPorts(), Connection.inbound("203.0.113.9", 0, Protocol.ICMP), "allowed", "default", null),
                row("icmp matches an entry with ports", enforcedIn().allowlist(id(allow("203.0.113.0/24", tcp(443)), "in-a")),
                        Connection.inbound("203.0.113.9", 0, Protocol.ICMP), "allowed", "allowlisted", "in-a"),
                row("icmp from outside the allowlist", enforcedIn().allowlist(id(allow("203.0.113.0/24"), "in-a")),
                        Connection.inbound("198.51.100.9", 0, Protocol.ICMP), "blocked", "not-allowlisted", null),
                row("unstamped entry is named by its path", enforcedIn().allowlist(allow("198.51.100.0/24"), allow("203.0.113.0/24")),
                        in("203.0.113.9", 443), "allowed", "allowlisted", "inbound.allowlist[1]"));
    }

    static Stream<Arguments> outboundCases() {
        return Stream.of(
                row("loopback", enforcedOut().outboundPorts().defaultAction("deny"), out("127.0.0.53", 80), "allowed", "platform", "platform:loopback"),
                row("control plane", enforcedOut().outboundPorts().defaultAction("deny"), out("192.0.2.100", 8443), "allowed", "platform", "platform:control-plane"),
                row("dns resolver udp/53", enforcedOut().outboundPorts().defaultAction("deny"), Connection.outbound("192.0.2.53", 53, Protocol.UDP),
                        "allowed", "platform", "platform:dns"),
                row("dns resolver v6 tcp/53", enforcedOut().outboundPorts().defaultAction("deny"), out("2001:db8:53::53", 53), "allowed", "platform", "platform:dns"),
                row("dns resolver on another port", enforcedOut().outboundPorts().defaultAction("deny"), out("192.0.2.53", 80), "blocked", "port-closed", null),
                row("mode off", policy().outboundPorts().defaultAction("deny"), out("198.51.100.7", 80), "allowed", "mode-off", null),
                row("port closed", enforcedOut(), out("198.51.100.7", 80), "blocked", "port-closed", null),
                row("port closed beats deny", enforcedOut().defaultAction("deny"), out("198.51.100.7", 80), "blocked", "port-closed", null),
                row("destination cidr", enforcedOut().defaultAction("deny").destinations(with(to("198.51.100.0/24"), "id", "out-a")), out("198.51.100.7", 443),
                        "allowed", "destination-allowed", "out-a"),
                row("destination v6", enforcedOut().defaultAction("deny").destinations(with(to("2001:db8:1::/48"), "id", "out-a")), out("2001:db8:1::7", 443),
                        "allowed", "destination-allowed", "out-a"),
                row("entry's own port opens it", enforcedOut().defaultAction("deny").destinations(with(to("198.51.100.0/24", tcp(5432)), "id", "out-a")),
                        out("198.51.100.7", 5432), "allowed", "destination-allowed", "out-a"),
                row("entry's own ports replace the open ports", enforcedOut().defaultAction("deny").destinations(with(to("198.51.100.0/24", tcp(5432)), "id", "out-a")),
                        out("198.51.100.7", 443), "blocked", "unknown-destination", null),
                row("entry's own port does not open other destinations", enforcedOut().destinations(with(to("198.51.100.0/24", tcp(5432)), "id", "out-a")),
                        out("203.0.113.7", 5432), "blocked", "port-closed", null),
                row("most specific destination", enforcedOut().destinations(with(to("198.51.100.0/24"), "id", "out-wide"), with(to("198.51.100.7"), "id", "out-one")),
                        out("198.51.100.7", 443), "allowed", "destination-allowed", "out-one"),
                row("domain exact", enforcedOut().defaultAction("deny").destinations(with(to("api.example.com"), "id", "out-a")), out("API.Example.com", 443),
                        "allowed", "destination-allowed", "out-a"),
                row("domain exact does not cover subdomains", enforcedOut().defaultAction("deny").destinations(with(to("example.com"), "id", "out-a")),
                        out("api.example.com", 443), "blocked", "unknown-destination", null),
                row("wildcard covers a subdomain", enforcedOut().defaultAction("deny").destinations(with(to("*.example.com"), "id", "out-a")),
                        out("a.b.example.com", 443), "allowed", "destination-allowed", "out-a"),
                row("wildcard does not cover the apex", enforcedOut().defaultAction("deny").destinations(with(to("*.example.com"), "id", "out-a")),
                        out("example.com", 443), "blocked", "unknown-destination", null),
                row("exact name beats wildcard", enforcedOut().defaultAction("deny").destinations(with(to("*.example.com"), "id", "out-wild"),
                        with(to("api.example.com"), "id", "out-exact")), out("api.example.com", 443), "allowed", "destination-allowed", "out-exact"),
                row("longer wildcard beats shorter", enforcedOut().defaultAction("deny").destinations(with(to("*.example.com"), "id", "out-short"),
                        with(to("*.eu.example.com"), "id", "out-long")), out("api.eu.example.com", 443), "allowed", "destination-allowed", "out-long"),
                row("IDN name matches its punycode", enforcedOut().defaultAction("deny").destinations(with(to("bücher.example"), "id", "out-a")),
                        out("xn--bcher-kva.example", 443), "allowed", "destination-allowed", "out-a"),
                row("address never matches a name entry", enforcedOut().defaultAction("deny").destinations(with(to("example.com"), "id", "out-a")),
                        out("198.51.100.7", 443), "blocked", "unknown-destination", null),
                row("name never matches a cidr entry", enforcedOut().defaultAction("deny").destinations(with(to("0.0.0.0/0"), "id", "out-a")),
                        out("example.com", 443), "blocked", "unknown-destination", null),
                row("unknown destination", enforcedOut().defaultAction("deny"), out("198.51.100.7", 443), "blocked", "unknown-destination", null),
                row("default allow", enforcedOut(), out("198.51.100.7", 443), "allowed", "default", null),
                row("monitor", policy().outboundMode("monitor").defaultAction("deny"), out("198.51.100.7", 443), "would-block", "unknown-destination", null),
                row("icmp skips the port step", enforcedOut().outboundPorts(), Connection.outbound("198.51.100.7", 0, Protocol.ICMP), "allowed", "default", null),
                row("icmp to an entry with ports", enforcedOut().outboundPorts().defaultAction("deny").destinations(with(to("198.51.100.0/24", udp(53)), "id", "out-a")),
                        Connection.outbound("198.51.100.7", 0, Protocol.ICMP), "allowed", "destination-allowed", "out-a"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("inboundCases")
    void decidesInbound(String name, PolicyTree policy, Connection connection, String verdict, String reason, String ruleId) {
        assertDecision(policy, connection, verdict, reason, ruleId);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("outboundCases")
    void decidesOutbound(String name, PolicyTree policy, Connection connection, String verdict, String reason, String ruleId) {
        assertDecision(policy, connection, verdict, reason, ruleId);
    }

    @Test
    void expiredEntryStopsMatchingAtItsExpiry() {
        PolicyDocument document = enforcedIn().allowlist(id(with(allow("203.0.113.0/24"), "expiresAt", "2026-12-01T00:00:00Z"), "in-a")).document();
        Evaluator evaluator = Evaluator.compile(document, PlatformRules.NONE);
        Connection connection = in("203.0.113.9", 443);
        java.time.Instant expiry = java.time.Instant.parse("2026-12-01T00:00:00Z");

        assertThat(evaluator.evaluate(connection, expiry.minusNanos(1)).reason()).isEqualTo(Reason.ALLOWLISTED);
        Decision atExpiry = evaluator.evaluate(connection, expiry);
        // The only entry has expired, so the allowlist is no longer active: the default allows.
        assertThat(atExpiry.reason()).isEqualTo(Reason.DEFAULT);
        assertThat(atExpiry.ruleId()).isNull();
    }

    @Test
    void expiredEntryLeavesOtherEntriesActive() {
        PolicyDocument document = enforcedIn()
                .allowlist(id(with(allow("203.0.113.0/24"), "expiresAt", "2026-12-01T00:00:00Z"), "in-a"), id(allow("198.51.100.0/24"), "in-b"))
                .document();
        Decision decision = Evaluator.compile(document, PlatformRules.NONE).evaluate(in("203.0.113.9", 443), java.time.Instant.parse("2026-12-02T00:00:00Z"));
        assertThat(decision.verdict()).isEqualTo(Verdict.BLOCKED);
        assertThat(decision.reason()).isEqualTo(Reason.NOT_ALLOWLISTED);
    }

    @Test
    void explainsAllowlistedWithEntryDescriptionCidrAndPorts() {
        PolicyDocument document = enforcedIn().allowlist(id(with(allow("203.0.113.0/24", tcp(443)), "description", "Office VPN"), "in-7f3k2q")).document();
        Decision decision = Evaluator.compile(document, PlatformRules.NONE).evaluate(in("203.0.113.9", 443), NOW);
        assertThat(decision.explanation()).isEqualTo("203.0.113.9 is in allowlist entry in-7f3k2q \"Office VPN\" (203.0.113.0/24), which allows tcp/443");
    }

    @Test
    void explainsWhichEntryMatchedTheAddressWhenItsPortsDoNotCover() {
        PolicyDocument document = enforcedIn().inboundPorts(tcp(443), tcp(22))
                .allowlist(id(with(allow("203.0.113.0/24", tcp(443)), "description", "Office VPN"), "in-7f3k2q")).document();
        Decision decision = Evaluator.compile(document, PlatformRules.NONE).evaluate(in("203.0.113.9", 22), NOW);
        assertThat(decision.ruleId()).isNull();
        assertThat(decision.explanation()).contains("in-7f3k2q", "\"Office VPN\"", "203.0.113.0/24", "only tcp/443", "not tcp/22");
    }

    @Test
    void rejectsBadPlatformRulesNamingTheValue() {
        PlatformRules bad = new PlatformRules(List.of("192.0.2.0/33"), List.of(), List.of());
        assertThatThrownBy(() -> Evaluator.compile(PolicyDocument.defaultPolicy(), bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"192.0.2.0/33\"");
    }

    private static void assertDecision(PolicyTree policy, Connection connection, String verdict, String reason, String ruleId) {
        Decision decision = Evaluator.compile(policy.document(), PLATFORM).evaluate(connection, NOW);
        assertThat(decision.verdict().wireName()).as(decision.explanation()).isEqualTo(verdict);
        assertThat(decision.reason().wireName()).as(decision.explanation()).isEqualTo(reason);
        assertThat(decision.ruleId()).as(decision.explanation()).isEqualTo(ruleId);
        assertThat(decision.explanation()).isNotBlank().doesNotContain("\n");
    }

    private static Arguments row(String name, PolicyTree policy, Connection connection, String verdict, String reason, String ruleId) {
        return Arguments.of(name, policy, connection, verdict, reason, ruleId);
    }

    private static java.util.Map<String, Object> id(java.util.Map<String, Object> entry, String id) {
        return with(entry, "id", id);
    }

    static Connection in(String from, int port) {
        return Connection.inbound(from, port, Protocol.TCP);
    }

    static Connection in(String from, int port, String country) {
        return Connection.of(Direction.INBOUND, from, null, port, Protocol.TCP, country);
    }

    static Connection out(String to, int port) {
        return Connection.outbound(to, port, Protocol.TCP);
    }
}
