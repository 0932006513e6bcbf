package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.Connection;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Validated;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RuleAttributionTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    /**
     * Overlapping entries on purpose: a /24 open on 443 only, a /29 inside it open on every port, the
     * same shape in IPv6, and outbound CIDRs that nest.
     */
    private static final Evaluator EVALUATOR = Evaluator.compile(policy(), new PlatformRules(List.of(), List.of("192.0.2.10/32"), List.of()));

    private static PolicyDocument policy() {
        Map<String, Object> tree = Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "enforce"),
                "inbound", Map.of(
                        "allowlist", List.of(
                                entry("in-wide4", "203.0.113.0/24", List.of(Map.of("proto", "tcp", "port", 443))),
                                entry("in-narrow4", "203.0.113.8/29", null),
                                entry("in-wide6", "2001:db8::/32", List.of(Map.of("proto", "tcp", "port", 443))),
                                entry("in-narrow6", "2001:db8:1::/48", null)),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https"),
                                Map.of("proto", "tcp", "port", 8443, "description", "admin"))),
                "outbound", Map.of(
                        "destinations", List.of(
                                Map.of("id", "out-net", "cidr", "198.51.100.0/24", "description", "partner", "requestedBy", "ann@example.com"),
                                Map.of("id", "out-host", "cidr", "198.51.100.7/32", "description", "partner api", "requestedBy", "ann@example.com"),
                                Map.of("id", "out-v6", "cidr", "2001:db8:ff::/48", "description", "partner v6", "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "defaultAction", "deny"));
        Validated<PolicyDocument> document = PolicyValidator.validate(tree, NOW);
        assertThat(document.errors()).isEmpty();
        return document.value();
    }

    private static Map<String, Object> entry(String id, String cidr, List<Map<String, Object>> ports) {
        return ports == null
                ? Map.of("id", id, "cidr", cidr, "description", id, "requestedBy", "ann@example.com")
                : Map.of("id", id, "cidr", cidr, "description", id, "requestedBy", "ann@example.com", "ports", ports);
    }

    private static ConnectionEvent event(String direction, String peer, int port, String reason, String ruleId) {
        boolean inbound = direction.equals("inbound");
        return ConnectionEvent.newBuilder()
                .setSequence(1)
                .setTimeEpochMicros(ChronoUnit.MICROS.between(Instant.EPOCH, NOW))
                .setDirection(inbound ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                .setVerdict(reason.endsWith("allowed") || reason.equals("allowlisted") ? Verdict.VERDICT_ALLOWED : Verdict.VERDICT_BLOCKED)
                .setIpProtocol(6)
                .setSourceAddress(Events.address(inbound ? peer : (peer.contains(":") ? "2001:db8:2::1" : "192.0.2.20")))
                .setSourcePort(40000)
                .setDestinationAddress(Events.address(inbound ? (peer.contains(":") ? "2001:db8:2::1" : "192.0.2.20") : peer))
                .setDestinationPort(port)
                .setRuleId(ruleId)
                .setReason(reason)
                .setInterface("eth0")
                .build();
    }

    private static String attributed(ConnectionEvent event) {
        return RuleAttribution.attribute(EventBatch.newBuilder().addEvents(event).build(), EVALUATOR).getEvents(0).getRuleId();
    }

    @ParameterizedTest(name = "{0} {1} port {2} ({3}) -> {4}")
    @CsvSource({
            "inbound,  203.0.113.200, 443,  allowlisted,         in-wide4",
            "inbound,  203.0.113.9,   8443, allowlisted,         in-narrow4",
            "inbound,  2001:db8:5::1, 443,  allowlisted,         in-wide6",
            "inbound,  2001:db8:1::9, 8443, allowlisted,         in-narrow6",
            "outbound, 198.51.100.20, 443,  destination-allowed, out-net",
            "outbound, 2001:db8:ff::1, 443, destination-allowed, out-v6",
    })
    void anAllowedEventGetsTheRuleTheSimulatorNames(String direction, String peer, int port, String reason, String expected) {
        String rule = attributed(event(direction, peer, port, reason, ""));

        assertThat(rule).isEqualTo(expected);
        Connection connection = direction.equals("inbound") ? Connection.inbound(peer, port, Protocol.TCP) : Connection.outbound(peer, port, Protocol.TCP);
        assertThat(rule).isEqualTo(EVALUATOR.evaluate(connection, NOW).ruleId());
    }

    @ParameterizedTest(name = "overlap {0} {1} port {2}")
    @CsvSource({
            "inbound,  203.0.113.9,   443, allowlisted",
            "inbound,  2001:db8:1::9, 443, allowlisted",
            "outbound, 198.51.100.7,  443, destination-allowed",
    })
    void whereEntriesOverlapItIsTheSimulatorsChoice(String direction, String peer, int port, String reason) {
        Connection connection = direction.equals("inbound") ? Connection.inbound(peer, port, Protocol.TCP) : Connection.outbound(peer, port, Protocol.TCP);
        String simulated = EVALUATOR.evaluate(connection, NOW).ruleId();

        assertThat(simulated).isNotNull();
        assertThat(attributed(event(direction, peer, port, reason, ""))).isEqualTo(simulated);
    }

    @Test
    void blockedEventsKeepNoRule() {
        assertThat(attributed(event("inbound", "192.0.2.99", 443, "not-allowlisted", ""))).isEmpty();
        assertThat(attributed(event("inbound", "203.0.113.200", 8443, "not-allowlisted", ""))).isEmpty();
    }

    @Test
    void aReasonTheEvaluatorDoesNotGiveLeavesTheEventAlone() {
        // An address that an allowed domain resolved to: the kernel allowed it, the evaluator only matches names to names.
        assertThat(attributed(event("outbound", "192.0.2.77", 443, "destination-allowed", ""))).isEmpty();
    }

    @Test
    void aRuleTheAgentNamedIsKept() {
        assertThat(attributed(event("inbound", "203.0.113.200", 443, "allowlisted", "in-from-agent"))).isEqualTo("in-from-agent");
    }

    @Test
    void anEventThatIsNoConnectionIsLeftForTheBatchCheck() {
        ConnectionEvent broken = event("inbound", "203.0.113.200", 443, "allowlisted", "").toBuilder()
                .setSourceAddress(com.google.protobuf.ByteString.copyFrom(new byte[3])).build();

        assertThat(attributed(broken)).isEmpty();
    }

    @Test
    void aBatchWithNothingToNameIsReturnedAsItIs() {
        EventBatch batch = EventBatch.newBuilder().addEvents(event("inbound", "192.0.2.99", 443, "not-allowlisted", "")).build();

        assertThat(RuleAttribution.attribute(batch, EVALUATOR)).isSameAs(batch);
    }
}
