package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.address;
import static dev.clawfence.controlplane.events.Events.event;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import java.time.Instant;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EventBatchCheckTest {

    private static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");

    static Stream<Arguments> badEvents() {
        return Stream.of(
                bad("zero sequence", e -> e.setSequence(0), "events[1].sequence: 0 is not positive"),
                bad("repeated sequence", e -> e.setSequence(1), "events[1].sequence: 1 does not follow 1"),
                bad("time before 1970", e -> e.setTimeEpochMicros(-5), "events[1].time_epoch_micros: -5 is not a time after 1970"),
                bad("unknown direction", e -> e.setDirectionValue(9), "events[1].direction: 9 is not a known direction"),
                bad("unspecified verdict", e -> e.setVerdictValue(0), "events[1].verdict: 0 is not a known verdict"),
                bad("unknown verdict", e -> e.setVerdictValue(7), "events[1].verdict: 7 is not a known verdict"),
                bad("protocol 300", e -> e.setIpProtocol(300), "events[1].ip_protocol: 300 is not an IP protocol number"),
                bad("5-byte source", e -> e.setSourceAddress(ByteString.copyFrom(new byte[5])),
                        "events[1].source_address: 5 bytes is not an address (4 bytes for IPv4, 16 for IPv6)"),
                bad("empty destination", e -> e.setDestinationAddress(ByteString.EMPTY),
                        "events[1].destination_address: 0 bytes is not an address"),
                bad("mixed families", e -> e.setDestinationAddress(address("2001:db8::1")),
                        "events[1].destination_address: 16 bytes but source_address has 4"),
                bad("port 70000", e -> e.setDestinationPort(70000), "events[1].destination_port: 70000 is not a port (0-65535)"),
                bad("long rule id", e -> e.setRuleId("r".repeat(201)), "events[1].rule_id: 201 characters is longer than 200"),
                bad("NUL in interface", e -> e.setInterface("eth\0"), "events[1].interface: contains a NUL character"));
    }

    private static Arguments bad(String name, UnaryOperator<ConnectionEvent.Builder> change, String message) {
        return Arguments.of(name, change, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badEvents")
    void refusesABatchNamingTheFieldAndProblem(String name, UnaryOperator<ConnectionEvent.Builder> change, String message) {
        EventBatch batch = EventBatch.newBuilder()
                .addEvents(event(1, NOW))
                .addEvents(change.apply(event(2, NOW)))
                .build();

        assertThatThrownBy(() -> EventBatchCheck.check(batch))
                .isInstanceOf(InvalidEventBatchException.class)
                .hasMessageStartingWith("event batch refused, nothing stored: ")
                .hasMessageContaining(message);
    }

    @Test
    void namesEveryProblemAtOnce() {
        EventBatch batch = EventBatch.newBuilder()
                .addEvents(event(5, NOW))
                .addEvents(event(4, NOW).setVerdictValue(9))
                .addLosses(EventLoss.newBuilder().setFirstSequence(1).setLastSequence(3).setCount(4)
                        .setReason(EventLoss.Reason.CORRUPT))
                .build();

        assertThatThrownBy(() -> EventBatchCheck.check(batch))
                .isInstanceOfSatisfying(InvalidEventBatchException.class, e -> org.assertj.core.api.Assertions
                        .assertThat(e.problems()).containsExactly(
                                "events[1].sequence: 4 does not follow 5 (sequences must strictly increase within a batch)",
                                "events[1].verdict: 9 is not a known verdict (allowed 1, blocked 2, would-block 3)",
                                "losses[0].count: 4 does not fit the range 1..3 (between 1 and its length)"));
    }

    @Test
    void acceptsAWellFormedBatchOfBothFamiliesAndAllVerdicts() {
        EventBatch batch = EventBatch.newBuilder()
                .addEvents(event(1, NOW))
                .addEvents(event(2, NOW).setSourceAddress(address("2001:db8::7")).setDestinationAddress(address("2001:db8::1")))
                .addEvents(event(3, NOW).setVerdict(dev.clawfence.proto.agent.v1.Verdict.VERDICT_WOULD_BLOCK))
                .addEvents(event(9, NOW).setVerdict(dev.clawfence.proto.agent.v1.Verdict.VERDICT_ALLOWED).setIpProtocol(1)
                        .setSourcePort(0).setDestinationPort(0))
                .addLosses(EventLoss.newBuilder().setFirstSequence(4).setLastSequence(8).setCount(5)
                        .setReason(EventLoss.Reason.FULL_DROPPED_OLDEST))
                .build();

        assertThatCode(() -> EventBatchCheck.check(batch)).doesNotThrowAnyException();
    }
}
