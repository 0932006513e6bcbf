package dev.clawfence.agent.nflog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.ValueSource;

class NflogParserTest {

    static final List<String> CASES = Golden.CASES;

    @BeforeAll
    static void littleEndianHost() {
        // The goldens hold netlink headers in the byte order of the x86-64 host that captured them.
        org.junit.jupiter.api.Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "goldens are little-endian");
    }

    @ParameterizedTest
    @FieldSource("CASES")
    void goldenDatagramsParseToWhatWasSent(String name) throws Exception {
        Golden golden = Golden.load(name);

        List<LoggedPacket> packets = Golden.parse(golden.datagram());

        assertThat(packets.stream().map(Golden::fields).toList()).isEqualTo(golden.packets());
    }

    @Test
    void readsBetweenPositionAndLimitAndLeavesThemAlone() throws Exception {
        byte[] tcp4 = Golden.load("tcp4").datagram();
        ByteBuffer buffer = ByteBuffer.allocate(tcp4.length + 40);
        Arrays.fill(buffer.array(), (byte) 0x5a);
        buffer.put(17, tcp4).position(17).limit(17 + tcp4.length);
        List<LoggedPacket> packets = new ArrayList<>();

        NflogParser.parse(buffer, Golden.NO_TIMESTAMP, packets::add);

        assertThat(packets).extracting(Golden::fields).containsExactly(Golden.load("tcp4").packets().getFirst());
        assertThat(buffer.position()).isEqualTo(17);
        assertThat(buffer.limit()).isEqualTo(17 + tcp4.length);
    }

    @Test
    void walksEveryMessageOfADatagramAndStopsAtDone() throws Exception {
        byte[] tcp4 = Datagrams.aligned(Golden.load("tcp4").datagram());
        byte[] udp6 = Datagrams.aligned(Golden.load("udp6").datagram());
        byte[] noop = Datagrams.message(NflogParser.NLMSG_NOOP, 0, new byte[0]);
        byte[] done = Datagrams.message(NflogParser.NLMSG_DONE, 0, new byte[4]);

        assertThat(Golden.parse(Datagrams.concat(tcp4, noop, udp6))).extracting(LoggedPacket::protocol).containsExactly(6, 17);
        assertThat(Golden.parse(Datagrams.concat(tcp4, done, udp6))).extracting(LoggedPacket::protocol).containsExactly(6);
        assertThat(Golden.parse(new byte[0])).isEmpty();
    }

    @Test
    void handsErrorsAndAcknowledgementsToTheSink() throws Exception {
        List<String> errors = new ArrayList<>();
        NflogParser.Sink sink = new NflogParser.Sink() {
            @Override
            public void packet(LoggedPacket packet) {
                errors.add("packet " + packet.protocol());
            }

            @Override
            public void error(int errno, int sequence) {
                errors.add("errno " + errno + " seq " + sequence);
            }
        };

        NflogParser.parse(ByteBuffer.wrap(Datagrams.concat(Datagrams.error(0, 41), Datagrams.error(1, 42),
                Datagrams.aligned(Golden.load("udp4").datagram()))), Instant.EPOCH, sink);

        assertThat(errors).containsExactly("errno 0 seq 41", "errno 1 seq 42", "packet 17");
    }

    @Test
    void everyTruncationOfADatagramIsAFormatError() {
        byte[] tcp6 = Golden.load("tcp6").datagram();
        for (int length = 1; length < tcp6.length; length++) {
            byte[] cut = Arrays.copyOf(tcp6, length);
            assertThatThrownBy(() -> Golden.parse(cut)).as("first %d bytes", length).isInstanceOf(NflogFormatException.class);
        }
    }

    @Test
    void aZeroLengthAttributeIsRefusedNotLoopedOver() {
        byte[] udp4 = Golden.load("udp4").datagram().clone();
        int prefix = Datagrams.attribute(udp4, NflogParser.NFULA_PREFIX)[0];
        ByteBuffer.wrap(udp4).order(ByteOrder.nativeOrder()).putShort(prefix, (short) 0);

        assertThatThrownBy(() -> Golden.parse(udp4)).isInstanceOf(NflogFormatException.class)
                .hasMessage("attribute at offset " + prefix + ": nla_len 0 is outside 4.." + (udp4.length - prefix) + " (the bytes left in the message)");
    }

    @Test
    void aMessageLengthBelowTheHeaderIsRefused() {
        byte[] udp4 = Golden.load("udp4").datagram().clone();
        ByteBuffer.wrap(udp4).order(ByteOrder.nativeOrder()).putInt(0, 0);

        assertThatThrownBy(() -> Golden.parse(udp4)).isInstanceOf(NflogFormatException.class)
                .hasMessageStartingWith("netlink header at offset 0: nlmsg_len 0 is outside 16..");
    }

    @Test
    void aPacketWithoutPayloadNamesTheCopyMode() {
        byte[] meta = Datagrams.withoutAttribute(Golden.load("udp4").datagram(), NflogParser.NFULA_PAYLOAD);

        assertThatThrownBy(() -> Golden.parse(meta)).isInstanceOf(NflogFormatException.class)
                .hasMessageContaining("no NFULA_PAYLOAD attribute (the group must be configured with copy mode packet)");
    }

    @Test
    void aShortTimestampOrAnImpossibleOneIsRefused() {
        byte[] udp4 = Golden.load("udp4").datagram();
        byte[] shortStamp = Datagrams.withAttribute(udp4, NflogParser.NFULA_TIMESTAMP, new byte[8]);
        byte[] badMicros = Datagrams.withAttribute(udp4, NflogParser.NFULA_TIMESTAMP,
                ByteBuffer.allocate(16).putLong(1_700_000_000L).putLong(1_000_000).array());

        assertThatThrownBy(() -> Golden.parse(shortStamp)).hasMessageContaining("NFULA_TIMESTAMP").hasMessageContaining("8 value bytes, 16 needed");
        assertThatThrownBy(() -> Golden.parse(badMicros)).hasMessageContaining("1000000 µs is not a time");
    }

    @Test
    void theIpVersionMustMatchTheFamily() {
        byte[] udp4 = Golden.load("udp4").datagram();
        byte[] payload = Datagrams.payload(Golden.load("udp6").datagram());
        byte[] mismatch = Datagrams.withAttribute(udp4, NflogParser.NFULA_PAYLOAD, payload);

        assertThatThrownBy(() -> Golden.parse(mismatch)).hasMessageContaining("IP version 6 does not match the message's family 2");
    }

    @Test
    void ipv4OptionsAreSkippedAndLaterFragmentsHaveNoPorts() throws Exception {
        byte[] udp4 = Golden.load("udp4").datagram();
        byte[] payload = Datagrams.payload(udp4);
        byte[] withOptions = Datagrams.concat(Arrays.copyOf(payload, 20), new byte[] {1, 1, 1, 0}, Arrays.copyOfRange(payload, 20, payload.length));
        withOptions[0] = 0x46;
        byte[] laterFragment = payload.clone();
        laterFragment[6] = 0x00;
        laterFragment[7] = (byte) 0xb9; // offset 185 * 8 bytes

        LoggedPacket options = Golden.parse(Datagrams.withAttribute(udp4, NflogParser.NFULA_PAYLOAD, withOptions)).getFirst();
        LoggedPacket fragment = Golden.parse(Datagrams.withAttribute(udp4, NflogParser.NFULA_PAYLOAD, laterFragment)).getFirst();

        assertThat(List.of(options.protocol(), options.sourcePort(), options.destinationPort())).containsExactly(17, 40003, 53);
        assertThat(List.of(fragment.protocol(), fragment.sourcePort(), fragment.destinationPort())).containsExactly(17, -1, -1);
    }

    @Test
    void ipv4HeaderLengthOutsideTheCopyIsRefused() {
        byte[] udp4 = Golden.load("udp4").datagram();
        byte[] payload = Arrays.copyOf(Datagrams.payload(udp4), 24);
        payload[0] = 0x4f; // 60-byte header, 24 bytes copied

        assertThatThrownBy(() -> Golden.parse(Datagrams.withAttribute(udp4, NflogParser.NFULA_PAYLOAD, payload)))
                .hasMessageContaining("IHL gives 60 bytes, must be 20..24");
    }

    @Test
    void ipv6ExtensionHeadersAreWalkedToTheTransportHeader() throws Exception {
        byte[] udp6 = Golden.load("udp6").datagram();
        byte[] payload = Datagrams.payload(udp6);
        byte[] hopByHop = {43, 0, 1, 4, 0, 0, 0, 0};            // -> routing, 8 bytes (PadN)
        byte[] routing = {60, 0, 4, 0, 0, 0, 0, 0};             // -> destination options, type 4, no segments left
        byte[] destination = {44, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; // -> fragment, 16 bytes
        byte[] fragment = {17, 0, 0, 1, 0, 0, 0x12, 0x34};       // -> udp, first fragment, more follow
        byte[] chained = Datagrams.concat(Arrays.copyOf(payload, 40), hopByHop, routing, destination, fragment,
                Arrays.copyOfRange(payload, 40, payload.length));
        chained[6] = 0; // next header: hop-by-hop

        LoggedPacket packet = Golden.parse(Datagrams.withAttribute(udp6, NflogParser.NFULA_PAYLOAD, chained)).getFirst();

        assertThat(List.of(packet.protocol(), packet.sourcePort(), packet.destinationPort())).containsExactly(17, 40004, 5353);
        assertThat(packet.source()).isInstanceOf(Inet6Address.class);
    }

    @Test
    void ipv6HeadersBeyondTheCopyLeaveProtocolAndPortsUnknown() throws Exception {
        byte[] udp6 = Golden.load("udp6").datagram();
        byte[] payload = Datagrams.payload(udp6);
        byte[] longOptions = Arrays.copyOf(payload, 48);
        longOptions[6] = 60;
        longOptions[40] = 17;
        longOptions[41] = 10; // 88 bytes of destination options, far past the 48 copied

        byte[] chainBeyond = longOptions.clone();
        chainBeyond[40] = 43; // the header past the copy is another extension header

        LoggedPacket udp = Golden.parse(Datagrams.withAttribute(udp6, NflogParser.NFULA_PAYLOAD, longOptions)).getFirst();
        LoggedPacket unknown = Golden.parse(Datagrams.withAttribute(udp6, NflogParser.NFULA_PAYLOAD, chainBeyond)).getFirst();

        // The last header read names UDP, but its ports lie past the copy.
        assertThat(List.of(udp.protocol(), udp.sourcePort(), udp.destinationPort())).containsExactly(17, -1, -1);
        assertThat(List.of(unknown.protocol(), unknown.sourcePort(), unknown.destinationPort())).containsExactly(-1, -1, -1);
        assertThat(unknown.destination().getHostAddress()).isEqualTo("2001:db8:7:0:0:0:0:1");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 19, 39})
    void aPayloadShorterThanItsIpHeaderIsRefused(int length) {
        byte[] udp6 = Golden.load("udp6").datagram();
        byte[] cut = Arrays.copyOf(Datagrams.payload(udp6), length);

        assertThatThrownBy(() -> Golden.parse(Datagrams.withAttribute(udp6, NflogParser.NFULA_PAYLOAD, cut)))
                .isInstanceOf(NflogFormatException.class).hasMessageContaining(length == 0 ? "empty" : "at least 40 needed");
    }

    @Test
    void aMissingTimestampFallsBackToTheReceiveTime() throws Exception {
        byte[] withoutTime = Datagrams.withoutAttribute(Golden.load("tcp4").datagram(), NflogParser.NFULA_TIMESTAMP);
        Instant received = Instant.parse("2026-11-24T12:00:00Z");
        List<LoggedPacket> packets = new ArrayList<>();

        NflogParser.parse(ByteBuffer.wrap(withoutTime), received, packets::add);

        assertThat(packets.getFirst().time()).isEqualTo(received);
    }
}
