package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyDocumentWriterTest {

    @Test
    void writesEverySectionAndOmitsAbsentOptionalValues() {
        PolicyDocument document = new PolicyDocument(
                new Modes(Mode.ENFORCE, Mode.MONITOR),
                new Inbound(
                        List.of(new AllowlistEntry("in-a", "203.0.113.0/24", List.of(new PortSpec(Protocol.TCP, 8000, 8080)), "Office", "alice",
                                Instant.parse("2027-01-01T00:00:00Z"), new Provenance("alice", NOW, NOW))),
                        List.of(),
                        new Geo(GeoMode.BLOCK, List.of("DE"))),
                new Outbound(
                        List.of(new Destination(null, null, "*.example.com", List.of(), "APIs", "bob", Provenance.NONE)),
                        List.of(PortRule.https()),
                        DefaultAction.DENY),
                List.of(new PolicyTest(Connection.inbound("198.51.100.1", 0, Protocol.ICMP), Verdict.BLOCKED)));

        Map<String, Object> tree = PolicyDocumentWriter.toTree(document);

        assertThat(tree).isEqualTo(Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "monitor"),
                "inbound", Map.of(
                        "allowlist", List.of(Map.of("id", "in-a", "cidr", "203.0.113.0/24",
                                "ports", List.of(Map.of("proto", "tcp", "port", 8000, "endPort", 8080)),
                                "description", "Office", "requestedBy", "alice", "expiresAt", "2027-01-01T00:00:00Z",
                                "createdBy", "alice", "createdAt", "2026-11-24T10:00:00Z", "updatedAt", "2026-11-24T10:00:00Z")),
                        "ports", List.of(),
                        "geo", Map.of("mode", "block", "countries", List.of("DE"))),
                "outbound", Map.of(
                        "destinations", List.of(Map.of("domain", "*.example.com", "description", "APIs", "requestedBy", "bob")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "HTTPS")),
                        "defaultAction", "deny"),
                "tests", List.of(Map.of("direction", "inbound", "from", "198.51.100.1", "proto", "icmp", "expect", "blocked"))));
        assertThat(tree.keySet()).containsExactly("mode", "inbound", "outbound", "tests");
        assertThat(PolicyValidator.validate(tree, NOW).value()).isEqualTo(document);
    }
}
