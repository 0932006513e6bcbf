package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static dev.clawfence.policy.PolicyTree.allow;
import static dev.clawfence.policy.PolicyTree.policy;
import static dev.clawfence.policy.PolicyTree.port;
import static dev.clawfence.policy.PolicyTree.tcp;
import static dev.clawfence.policy.PolicyTree.test;
import static dev.clawfence.policy.PolicyTree.to;
import static dev.clawfence.policy.PolicyTree.with;
import static dev.clawfence.policy.PolicyTree.without;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyValidatorTest {

    /** One row per class of error: the tree, the path of the one error it must produce, and its message. */
    static Stream<Arguments> errors() {
        return Stream.of(
                row("prefix too long for IPv4", policy().allowlist(allow("10.0.0.0/33")),
                        "inbound.allowlist[0].cidr", "\"10.0.0.0/33\" is not a valid CIDR (prefix must be 0-32 for IPv4)"),
                row("prefix too long for IPv6", policy().allowlist(allow("2001:db8::/129")),
                        "inbound.allowlist[0].cidr", "\"2001:db8::/129\" is not a valid CIDR (prefix must be 0-128 for IPv6)"),
                row("IPv4 with an IPv6-size prefix", policy().allowlist(allow("198.51.100.0/64")),
                        "inbound.allowlist[0].cidr", "/64 is an IPv6 prefix length"),
                row("prefix not a number", policy().allowlist(allow("198.51.100.0/x")),
                        "inbound.allowlist[0].cidr", "the prefix length after \"/\" must be a number 0-32"),
                row("not an address", policy().allowlist(allow("office")), "inbound.allowlist[0].cidr", "\"office\" is not a valid CIDR"),
                row("octet over 255", policy().allowlist(allow("198.51.100.256")), "inbound.allowlist[0].cidr", "each IPv4 number must be 0-255"),
                row("leading zeros", policy().allowlist(allow("010.0.0.1")), "inbound.allowlist[0].cidr", "leading zeros are ambiguous: write \"10.0.0.1\""),
                row("inet_aton shorthand", policy().allowlist(allow("10.1")), "inbound.allowlist[0].cidr", "\"10.1\" is not a valid CIDR"),
                row("IPv6 zone", policy().allowlist(allow("fe80::1%eth0")), "inbound.allowlist[0].cidr", "zone indexes"),
                row("host bits set", policy().allowlist(allow("10.0.0.5/24")),
                        "inbound.allowlist[0].cidr", "\"10.0.0.5/24\" has host bits set: did you mean \"10.0.0.0/24\"?"),
                row("host bits set IPv6", policy().allowlist(allow("2001:db8::1/32")),
                        "inbound.allowlist[0].cidr", "did you mean \"2001:db8::/32\"?"),
                row("IPv4-mapped IPv6", policy().allowlist(allow("::ffff:198.51.100.0/120")),
                        "inbound.allowlist[0].cidr", "IPv4-mapped IPv6 address: write it as IPv4, \"198.51.100.0/24\""),
                row("destination cidr checked too", policy().destinations(to("203.0.113.7/16")),
                        "outbound.destinations[0].cidr", "did you mean \"203.0.0.0/16\"?"),
                row("test mixes families", policy().tests(test("inbound", "203.0.113.9", "2001:db8::1", 443, "tcp", "allowed")),
                        "tests[0].to", "\"2001:db8::1\" is IPv6 but from \"203.0.113.9\" is IPv4"),
                row("test address is a range", policy().tests(test("inbound", "203.0.113.0/24", null, 443, "tcp", "allowed")),
                        "tests[0].from", "is a range"),
                row("test without from", policy().tests(test("inbound", null, null, 443, "tcp", "allowed")), "tests[0].from", "is required"),
                row("test expect would-block", policy().tests(test("inbound", "203.0.113.9", null, 443, "tcp", "would-block")),
                        "tests[0].expect", "\"would-block\" is not one of allowed, blocked"),
                row("test port on icmp", policy().tests(test("inbound", "203.0.113.9", null, 7, "icmp", "allowed")),
                        "tests[0].port", "icmp has no ports"),
                row("port zero", policy().inboundPorts(tcp(0)), "inbound.ports[0].port", "port 0 is outside 1-65535"),
                row("port too high", policy().allowlist(allow("203.0.113.0/24", tcp(65536))), "inbound.allowlist[0].ports[0].port",
                        "port 65536 is outside 1-65535"),
                row("endPort below port", policy().outboundPorts(tcp(8080, 8000)), "outbound.ports[0].endPort",
                        "endPort 8000 is below port 8080"),
                row("ports on icmp", policy().inboundPorts(port("icmp", 7)), "inbound.ports[0].proto", "icmp has no ports"),
                row("port as a string", policy().inboundPorts(with(tcp(443), "port", "443")), "inbound.ports[0].port",
                        "expected a whole number, got a string"),
                row("port with a fraction", policy().inboundPorts(with(tcp(443), "port", 443.5)), "inbound.ports[0].port", "443.5 is not a whole number"),
                row("unknown protocol", policy().inboundPorts(port("sctp", 443)), "inbound.ports[0].proto", "\"sctp\" is not one of tcp, udp, icmp"),
                row("empty entry ports", policy().allowlist(with(allow("203.0.113.0/24"), "ports", List.of())), "inbound.allowlist[0].ports",
                        "omit \"ports\" to cover every port"),
                row("unknown country", policy().geo("block", "ZZ"), "inbound.geo.countries[0]", "\"ZZ\" is not an ISO-3166 alpha-2 country code"),
                row("unknown geo mode", policy().geo("deny", "DE"), "inbound.geo.mode", "\"deny\" is not one of none, allow, block"),
                row("underscore in domain", policy().destinations(to("my_api.example.com")), "outbound.destinations[0].domain",
                        "host names cannot contain \"_\""),
                row("inner wildcard", policy().destinations(to("api.*.example.com")), "outbound.destinations[0].domain",
                        "only as the whole leftmost label"),
                row("label too long", policy().destinations(to("a".repeat(64) + ".example.com")), "outbound.destinations[0].domain",
                        "each label between dots must be 1-63 characters"),
                row("name too long", policy().destinations(to(longName())), "outbound.destinations[0].domain", "a name is at most 253 characters"),
                row("label with edge hyphen", policy().destinations(to("-api.example.com")), "outbound.destinations[0].domain",
                        "is not a valid domain name"),
                row("single-label name", policy().destinations(to("intranet")), "outbound.destinations[0].domain", "needs a full name"),
                row("both cidr and domain", policy().destinations(with(to("198.51.100.0/24"), "domain", "example.com")), "outbound.destinations[0]",
                        "give either \"cidr\" or \"domain\", not both"),
                row("neither cidr nor domain", policy().destinations(without(to("example.com"), "domain")), "outbound.destinations[0]",
                        "needs \"cidr\" or \"domain\""),
                row("empty description", policy().allowlist(with(allow("203.0.113.0/24"), "description", "  ")),
                        "inbound.allowlist[0].description", "must not be empty"),
                row("missing description", policy().allowlist(without(allow("203.0.113.0/24"), "description")),
                        "inbound.allowlist[0].description", "is required"),
                row("over-long description", policy().allowlist(with(allow("203.0.113.0/24"), "description", "x".repeat(501))),
                        "inbound.allowlist[0].description", "is 501 characters long; the limit is 500"),
                row("over-long requestedBy", policy().destinations(with(to("example.com"), "requestedBy", "x".repeat(201))),
                        "outbound.destinations[0].requestedBy", "is 201 characters long; the limit is 200"),
                row("missing requestedBy", policy().allowlist(without(allow("203.0.113.0/24"), "requestedBy")),
                        "inbound.allowlist[0].requestedBy", "is required"),
                row("newline in description", policy().allowlist(with(allow("203.0.113.0/24"), "description", "line\nbreak")),
                        "inbound.allowlist[0].description", "contains a control character or line break at position 4"),
                row("control character in requestedBy", policy().allowlist(with(allow("203.0.113.0/24"), "requestedBy", "bob\u0007")),
                        "inbound.allowlist[0].requestedBy", "contains a control character"),
                row("bad id", policy().allowlist(with(allow("203.0.113.0/24"), "id", "In_1")), "inbound.allowlist[0].id", "\"In_1\" is not a valid id"),
                row("duplicate id across lists", policy().allowlist(with(allow("203.0.113.0/24"), "id", "r1"))
                        .destinations(with(to("example.com"), "id", "r1")), "outbound.destinations[0].id",
                        "\"r1\" is already the id of inbound.allowlist[0]; ids must be unique"),
                row("expiresAt not ISO-8601", policy().allowlist(with(allow("203.0.113.0/24"), "expiresAt", "next week")),
                        "inbound.allowlist[0].expiresAt", "\"next week\" is not an ISO-8601 time"),
                row("expiresAt in the past", policy().allowlist(with(allow("203.0.113.0/24"), "expiresAt", "2026-11-24T09:59:59Z")),
                        "inbound.allowlist[0].expiresAt", "is not in the future"),
                row("expiresAt exactly now", policy().allowlist(with(allow("203.0.113.0/24"), "expiresAt", NOW.toString())),
                        "inbound.allowlist[0].expiresAt", "is not in the future"),
                row("too many allowlist entries", policy().allowlist(copies(allow("203.0.113.0/24"), PolicyValidator.MAX_ALLOWLIST_ENTRIES + 1)),
                        "inbound.allowlist", "has 50001 items; the limit is 50000"),
                row("too many destinations", policy().destinations(copies(to("example.com"), PolicyValidator.MAX_DESTINATIONS + 1)),
                        "outbound.destinations", "the limit is 10000"),
                row("too many port rules", policy().inboundPorts(copies(tcp(443), PolicyValidator.MAX_PORT_RULES + 1)), "inbound.ports", "the limit is 1000"),
                row("too many tests", policy().tests(copies(test("inbound", "203.0.113.9", null, 443, "tcp", "allowed"), PolicyValidator.MAX_TESTS + 1)),
                        "tests", "the limit is 500"),
                row("unknown field", policy().tree("inbound", Map.of("alowlist", List.of())), "inbound.alowlist",
                        "unknown field; expected one of allowlist, ports, geo"),
                row("unknown field in an entry", policy().allowlist(with(allow("203.0.113.0/24"), "port", 443)), "inbound.allowlist[0].port",
                        "unknown field; expected one of id, cidr, ports"),
                row("wrong type for a mode", policy().tree("mode", Map.of("inbound", 3)), "mode.inbound", "expected a string, got a number"),
                row("unknown mode", policy().inboundMode("enforced"), "mode.inbound", "\"enforced\" is not one of off, monitor, enforce"),
                row("wrong type for a list", policy().tree("inbound", Map.of("allowlist", Map.of())), "inbound.allowlist", "expected a list, got an object"),
                row("wrong type for a section", policy().tree("outbound", List.of()), "outbound", "expected an object, got a list"),
                row("wrong type for an entry", policy().tree("inbound", Map.of("allowlist", List.of("203.0.113.0/24"))), "inbound.allowlist[0]",
                        "expected an object, got a string"),
                row("unknown default action", policy().defaultAction("drop"), "outbound.defaultAction", "\"drop\" is not one of allow, deny"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errors")
    void reportsEachClassOfErrorWithPathAndMessage(String name, PolicyTree tree, String path, String message) {
        Validated<PolicyDocument> result = PolicyValidator.validate(tree.tree(), NOW);

        assertThat(result.isValid()).isFalse();
        assertThat(result.errors()).hasSize(1);
        Problem problem = result.errors().get(0);
        assertThat(problem.path()).isEqualTo(path);
        assertThat(problem.message()).contains(message);
    }

    static Stream<Arguments> warnings() {
        return Stream.of(
                row("duplicate entry", policy().allowlist(allow("203.0.113.0/24"), allow("198.51.100.0/24"), allow("203.0.113.0/24")),
                        "inbound.allowlist[2]", "203.0.113.0/24 duplicates inbound.allowlist[0] (203.0.113.0/24)"),
                row("entry inside an earlier one", policy().allowlist(allow("203.0.113.0/24"), allow("203.0.113.8/29")),
                        "inbound.allowlist[1]", "203.0.113.8/29 is inside inbound.allowlist[0] (203.0.113.0/24)"),
                row("entry containing an earlier one", policy().allowlist(allow("2001:db8:1::/48"), allow("2001:db8::/32")),
                        "inbound.allowlist[1]", "2001:db8::/32 contains inbound.allowlist[0] (2001:db8:1::/48)"),
                row("duplicate destination name", policy().destinations(to("example.com"), to("EXAMPLE.com")),
                        "outbound.destinations[1]", "\"example.com\" duplicates outbound.destinations[0]"),
                row("overlapping port rules", policy().inboundPorts(tcp(8000, 8080), tcp(443), tcp(8080)),
                        "inbound.ports[2]", "tcp/8080 overlaps inbound.ports[0] (tcp/8000-8080)"),
                row("countries while geo is off", policy().geo("none", "DE"), "inbound.geo.countries", "ignored while geo.mode is none"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("warnings")
    void warnsAboutDuplicatesAndOverlapsNamingBothPaths(String name, PolicyTree tree, String path, String message) {
        Validated<PolicyDocument> result = PolicyValidator.validate(tree.tree(), NOW);

        assertThat(result.isValid()).isTrue();
        assertThat(result.warnings()).hasSize(1);
        assertThat(result.warnings().get(0).path()).isEqualTo(path);
        assertThat(result.warnings().get(0).message()).contains(message);
    }

    @Test
    void doesNotWarnWhenANestedEntryOpensOtherPortsOrLastsLonger() {
        var tree = policy().allowlist(allow("203.0.113.0/24", tcp(443)), allow("203.0.113.8/29", tcp(22)),
                with(allow("198.51.100.0/24"), "expiresAt", "2027-01-01T00:00:00Z"), allow("198.51.100.7"));
        assertThat(PolicyValidator.validate(tree.tree(), NOW).problems()).isEmpty();
    }

    @Test
    void anEntryThatExpiredSinceItWasStoredIsAWarningNotAnError() {
        var entry = with(with(allow("203.0.113.0/24"), "id", "in-lapsed"), "expiresAt", "2026-11-24T09:00:00Z");
        Instant savedBeforeExpiry = Instant.parse("2026-11-23T00:00:00Z");
        PolicyDocument stored = PolicyValidator.validate(policy().allowlist(entry).tree(), savedBeforeExpiry).value();

        Validated<PolicyDocument> resaved = PolicyValidator.validate(policy().allowlist(entry).inboundMode("enforce").tree(), NOW, stored);

        assertThat(resaved.isValid()).isTrue();
        assertThat(resaved.warnings()).extracting(Problem::toString).containsExactly(
                "inbound.allowlist[0].expiresAt: the entry expired at \"2026-11-24T09:00:00Z\" and no longer matches; remove it or give a later time");
    }

    @Test
    void aPastExpiryThatIsNewIsStillAnError() {
        var entry = with(allow("203.0.113.0/24"), "id", "in-lapsed");
        PolicyDocument stored = PolicyValidator.validate(policy().allowlist(with(entry, "expiresAt", "2027-01-01T00:00:00Z")).tree(), NOW).value();

        Validated<PolicyDocument> moved = PolicyValidator.validate(policy().allowlist(with(entry, "expiresAt", "2026-11-24T09:00:00Z")).tree(), NOW, stored);
        Validated<PolicyDocument> otherEntry = PolicyValidator.validate(
                policy().allowlist(with(with(allow("203.0.113.0/24"), "id", "in-other"), "expiresAt", "2026-11-24T09:00:00Z")).tree(), NOW, stored);

        assertThat(moved.errors()).extracting(Problem::path).containsExactly("inbound.allowlist[0].expiresAt");
        assertThat(otherEntry.errors()).extracting(Problem::path).containsExactly("inbound.allowlist[0].expiresAt");
    }

    @Test
    void reportsEveryProblemAtOnce() {
        var tree = policy().inboundMode("on").allowlist(allow("10.0.0.5/24"), allow("203.0.113.0/24", tcp(0))).geo("allow", "ZZ");
        assertThat(PolicyValidator.validate(tree.tree(), NOW).errors()).extracting(Problem::path)
                .containsExactly("mode.inbound", "inbound.allowlist[0].cidr", "inbound.allowlist[1].ports[0].port", "inbound.geo.countries[0]");
    }

    @Test
    void rendersProblemsAsPathColonMessage() {
        Problem problem = PolicyValidator.validate(policy().allowlist(allow("10.0.0.0/33")).tree(), NOW).errors().get(0);
        assertThat(problem.toString()).isEqualTo("inbound.allowlist[0].cidr: \"10.0.0.0/33\" is not a valid CIDR (prefix must be 0-32 for IPv4)");
    }

    @Test
    void emptyDocumentIsTheDefaultPolicy() {
        Validated<PolicyDocument> result = PolicyValidator.validate(Map.of(), NOW);
        assertThat(result.problems()).isEmpty();
        assertThat(result.value()).isEqualTo(PolicyDocument.defaultPolicy());
        assertThat(result.value().inbound().ports()).extracting(PortRule::spec).containsExactly(PortSpec.tcp(443));
        assertThat(result.value().mode()).isEqualTo(Modes.OFF);
        assertThat(result.value().outbound().defaultAction()).isEqualTo(DefaultAction.ALLOW);
    }

    @Test
    void explicitEmptyPortListClosesEveryPort() {
        PolicyDocument document = policy().inboundPorts().outboundPorts().document();
        assertThat(document.inbound().ports()).isEmpty();
        assertThat(document.outbound().ports()).isEmpty();
    }

    @Test
    void nullCountsAsAbsent() {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("inbound", null);
        tree.put("tests", null);
        assertThat(PolicyValidator.validate(tree, NOW).value()).isEqualTo(PolicyDocument.defaultPolicy());
    }

    @Test
    void normalisesAddressesNamesAndCountries() {
        PolicyDocument document = policy()
                .allowlist(allow("198.51.100.7"), allow("2001:DB8:0:0:0:0:0:1"), allow("2001:0db8:00AB::/48"))
                .destinations(to("Bücher.Example."), to("*.API.example.com"))
                .geo("block", "de", "FR", "DE")
                .document();
        assertThat(document.inbound().allowlist()).extracting(AllowlistEntry::cidr)
                .containsExactly("198.51.100.7/32", "2001:db8::1/128", "2001:db8:ab::/48");
        assertThat(document.outbound().destinations()).extracting(Destination::domain)
                .containsExactly("xn--bcher-kva.example", "*.api.example.com");
        assertThat(document.inbound().geo().countries()).containsExactly("DE", "FR");
    }

    @Test
    void acceptsProvenanceAndOffsetsOnInput() {
        Map<String, Object> entry = with(with(with(allow("203.0.113.0/24"), "createdBy", "carol"), "createdAt", "2026-01-01T01:00:00+01:00"),
                "expiresAt", "2027-01-01T00:00:00Z");
        AllowlistEntry read = policy().allowlist(entry).document().inbound().allowlist().get(0);
        assertThat(read.provenance().createdBy()).isEqualTo("carol");
        assertThat(read.provenance().createdAt()).isEqualTo(java.time.Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(read.expiresAt()).isEqualTo(java.time.Instant.parse("2027-01-01T00:00:00Z"));
    }

    @Test
    void rejectsANonObjectDocument() {
        Validated<PolicyDocument> result = PolicyValidator.validate(List.of(), NOW);
        assertThat(result.errors()).extracting(Problem::toString).containsExactly("$: expected an object, got a list");
    }

    @Test
    void validatesTheLargestAllowlistInLinearithmicTime() {
        // 50,000 entries, half of them nested in or duplicating others: a quadratic overlap check
        // would take minutes here; the sweep takes well under a second even on a slow machine.
        List<Object> entries = new ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < PolicyValidator.MAX_ALLOWLIST_ENTRIES; i++) {
            int address = i % 2 == 0 ? random.nextInt() : 0x0A000000;
            int prefix = i % 2 == 0 ? 32 : 8;
            String cidr = ((address >>> 24) & 255) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "." + (address & 255) + "/" + prefix;
            entries.add(allow(cidr));
        }
        Map<String, Object> tree = Map.of("inbound", Map.of("allowlist", entries));
        PolicyValidator.validate(tree, NOW);
        long start = System.nanoTime();
        Validated<PolicyDocument> result = PolicyValidator.validate(tree, NOW);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(result.isValid()).isTrue();
        assertThat(result.warnings()).hasSizeGreaterThan(PolicyValidator.MAX_ALLOWLIST_ENTRIES / 2 - 10);
        assertThat(millis).isLessThan(3_000);
    }

    private static String longName() {
        List<String> labels = new ArrayList<>(Collections.nCopies(5, "a".repeat(60)));
        labels.add("com");
        return String.join(".", labels);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object>[] copies(Map<String, Object> item, int count) {
        return Collections.nCopies(count, item).toArray(Map[]::new);
    }

    private static Arguments row(String name, PolicyTree tree, String path, String message) {
        return Arguments.of(name, tree, path, message);
    }
}
