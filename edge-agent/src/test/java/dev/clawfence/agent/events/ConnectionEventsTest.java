package dev.clawfence.agent.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.nflog.LoggedPacket;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.Verdict;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnectionEventsTest {

    private static final Instant TIME = Instant.parse("2026-11-24T10:00:00.123456789Z");
    private static final Map<Integer, String> INTERFACES = Map.of(3, "eth0", 4, "eth1");

    private static LoggedPacket packet(int hook, int protocol, String source, String destination, int sourcePort, int destinationPort, String prefix) {
        return new LoggedPacket(TIME, 2, hook, protocol, InetAddress.ofLiteral(source), InetAddress.ofLiteral(destination), sourcePort,
                destinationPort, LoggedPacket.UNKNOWN, LoggedPacket.UNKNOWN, prefix, hook == LoggedPacket.HOOK_INPUT ? 3 : 0,
                hook == LoggedPacket.HOOK_OUTPUT ? 4 : 0, LoggedPacket.UNKNOWN);
    }

    private static ConnectionEvent event(LoggedPacket packet) throws ConnectionEvents.NotAnEvent {
        return ConnectionEvents.of(packet, index -> INTERFACES.getOrDefault(index, "")).orElseThrow();
    }

    @Test
    void aBlockedInboundAttemptWithoutRuleId() throws Exception {
        ConnectionEvent event = event(packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 40000, 443, "cf1 b - not-allowlisted"));

        assertThat(event).isEqualTo(ConnectionEvent.newBuilder()
                .setTimeEpochMicros(TIME.getEpochSecond() * 1_000_000 + 123_456)
                .setDirection(Direction.DIRECTION_INBOUND)
                .setIpProtocol(6)
                .setSourceAddress(ByteString.copyFrom(new byte[] {(byte) 203, 0, 113, 66}))
                .setDestinationAddress(ByteString.copyFrom(new byte[] {(byte) 203, 0, 113, 1}))
                .setSourcePort(40000)
                .setDestinationPort(443)
                .setVerdict(Verdict.VERDICT_BLOCKED)
                .setReason("not-allowlisted")
                .setInterface("eth0")
                .build());
        assertThat(event.getSequence()).as("the uploader numbers events").isZero();
    }

    @Test
    void anOutboundWouldBlockAndAnAllowedPingWithoutPortsAndARuleIdWhereThePrefixNamesOne() throws Exception {
        ConnectionEvent out = event(packet(LoggedPacket.HOOK_OUTPUT, 17, "2001:db8::1", "2001:db8::2", 5353, 8443, "cf1 w - unknown-destination"));
        assertThat(out.getDirection()).isEqualTo(Direction.DIRECTION_OUTBOUND);
        assertThat(out.getVerdict()).isEqualTo(Verdict.VERDICT_WOULD_BLOCK);
        assertThat(out.getInterface()).isEqualTo("eth1");
        assertThat(out.getSourceAddress().size()).isEqualTo(16);

        ConnectionEvent ping = event(packet(LoggedPacket.HOOK_INPUT, 1, "203.0.113.2", "203.0.113.1", LoggedPacket.UNKNOWN, LoggedPacket.UNKNOWN,
                "cf1 a in.allow.7 allowlisted"));
        assertThat(ping.getSourcePort()).isZero();
        assertThat(ping.getDestinationPort()).isZero();
        assertThat(ping.getRuleId()).isEqualTo("in.allow.7");
        assertThat(ping.getVerdict()).isEqualTo(Verdict.VERDICT_ALLOWED);
    }

    @Test
    void anInstanceDecodesEachPrefixOnceAndGivesTheSameEvents() throws Exception {
        ConnectionEvents events = new ConnectionEvents();
        LoggedPacket blocked = packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 40000, 443, "cf1 b - not-allowlisted");
        LoggedPacket foreign = packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 40000, 443, "ufw block");
        for (int i = 0; i < 3; i++) {
            assertThat(events.event(blocked, index -> INTERFACES.getOrDefault(index, ""))).contains(event(blocked));
            assertThat(events.event(foreign, index -> "")).isEmpty();
        }
        assertThatThrownBy(() -> events.event(packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 1, 2, "cf1 q - geo"), i -> ""))
                .isInstanceOf(ConnectionEvents.NotAnEvent.class);
    }

    @Test
    void otherRulesLoggingToTheGroupAreNoEvents() throws Exception {
        assertThat(ConnectionEvents.of(packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 1, 2, "ufw block"), i -> "")).isEmpty();
        assertThat(ConnectionEvents.of(packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 1, 2, ""), i -> "")).isEmpty();
    }

    @Test
    void aBrokenClawfencePrefixOrAForeignHookIsNamed() {
        assertThatThrownBy(() -> event(packet(LoggedPacket.HOOK_INPUT, 6, "203.0.113.66", "203.0.113.1", 1, 2, "cf1 x - geo")))
                .isInstanceOf(ConnectionEvents.NotAnEvent.class).hasMessageContaining("verdict letter \"x\"");
        assertThatThrownBy(() -> event(packet(LoggedPacket.HOOK_FORWARD, 6, "203.0.113.66", "203.0.113.1", 1, 2, "cf1 b - geo")))
                .isInstanceOf(ConnectionEvents.NotAnEvent.class).hasMessageContaining("hook 2");
    }
}
