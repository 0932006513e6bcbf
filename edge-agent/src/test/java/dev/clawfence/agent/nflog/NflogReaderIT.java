package dev.clawfence.agent.nflog;

import static dev.clawfence.agent.nflog.NflogLab.HOST4;
import static dev.clawfence.agent.nflog.NflogLab.HOST6;
import static dev.clawfence.agent.nflog.NflogLab.PEER4;
import static dev.clawfence.agent.nflog.NflogLab.PEER6;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The FFM reader against the kernel: an NFLOG socket opened inside a namespace of {@link NflogLab}
 * receives the packets of the test's own traffic with the right fields, and a burst is accounted for in
 * full (received + reported lost = what the nft counter saw). Needs root and nft (skipped with the reason
 * elsewhere, failing under CI=true). {@code -Dnflog.capture=DIR} re-captures the golden datagrams;
 * {@code -Dnflog.burst=N} measures a burst of N packets for BENCHMARKS.md.
 */
class NflogReaderIT {

    /** What one piece of traffic must look like in the log; interfaces, time and sequence come from the capture. */
    private record Case(String name, Traffic traffic, List<Map<String, String>> expected) {}

    @FunctionalInterface
    private interface Traffic {
        void send(NflogLab lab) throws IOException;
    }

    private NflogLab lab;

    @BeforeEach
    void createLab() throws IOException {
        lab = NflogLab.create();
    }

    @AfterEach
    void deleteLab() throws IOException {
        if (lab != null) {
            lab.close();
        }
    }

    private static List<Case> cases() {
        return List.of(
                new Case("tcp4", lab -> lab.tcp(PEER4, 40001, HOST4, 443),
                        List.of(in(2, 6, PEER4, HOST4, 40001, 443, -1, -1, "cf1 b in.tcp port-closed"))),
                new Case("tcp6", lab -> lab.tcp(PEER6, 40002, HOST6, 443),
                        List.of(in(10, 6, PEER6, HOST6, 40002, 443, -1, -1, "cf1 b in.tcp port-closed"))),
                new Case("udp4", lab -> NflogLab.udp(lab.peer, PEER4, 40003, HOST4, 53, 32),
                        List.of(in(2, 17, PEER4, HOST4, 40003, 53, -1, -1, "cf1 a in.udp allowlisted"))),
                new Case("udp6", lab -> NflogLab.udp(lab.peer, PEER6, 40004, HOST6, 5353, 32),
                        List.of(in(10, 17, PEER6, HOST6, 40004, 5353, -1, -1, "cf1 a in.udp allowlisted"))),
                new Case("icmp4", lab -> lab.ping(HOST4),
                        List.of(in(2, 1, PEER4, HOST4, -1, -1, 8, 0, "cf1 w in.icmp not-allowlisted"))),
                new Case("icmp6", lab -> lab.ping(HOST6),
                        List.of(in(10, 58, PEER6, HOST6, -1, -1, 128, 0, "cf1 a in.icmp6"))),
                // 2000 bytes over a 1500-byte link: two fragments, only the first carries the UDP header.
                new Case("frag6", lab -> NflogLab.udp(lab.peer, PEER6, 40005, HOST6, 5354, 2000),
                        List.of(in(10, 17, PEER6, HOST6, 40005, 5354, -1, -1, "cf1 a in.frag6 allowlisted"),
                                in(10, 17, PEER6, HOST6, -1, -1, -1, -1, "cf1 a in.frag6 allowlisted"))),
                new Case("out-udp4", lab -> NflogLab.udp(lab.host, HOST4, 40006, PEER4, 9999, 32),
                        List.of(out(2, 17, HOST4, PEER4, 40006, 9999, "cf1 b out.udp unknown-destination"))));
    }

    @Test
    void readerInsideANamespaceReceivesTheTestsTrafficWithTheRightFields() throws Exception {
        int nl0 = lab.hostInterface();
        Queue<LoggedPacket> received = new ConcurrentLinkedQueue<>();
        Queue<NflogFormatException> malformed = new ConcurrentLinkedQueue<>();
        NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP));
        NflogReader reader = new NflogReader(socket, Clock.systemUTC(), received::add, malformed::add);
        Thread thread = Thread.ofPlatform().name("nflog-reader").start(() -> {
            try {
                reader.run();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            Instant before = Instant.now().minusSeconds(1);
            int expectedCount = 0;
            for (Case c : cases()) {
                c.traffic().send(lab);
                expectedCount += c.expected().size();
            }
            int count = expectedCount;
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() >= count);
            Instant after = Instant.now().plusSeconds(1);

            List<Map<String, String>> actual = new ArrayList<>();
            for (LoggedPacket packet : received) {
                assertThat(packet.time()).as("time of %s", packet).isBetween(before, after);
                assertThat(packet.hook() == LoggedPacket.HOOK_OUTPUT ? packet.outInterface() : packet.inInterface())
                        .as("interface of %s", packet).isEqualTo(nl0);
                assertThat(packet.sequence()).as("sequence of %s", packet).isNotNegative();
                Map<String, String> fields = Golden.fields(packet);
                fields.keySet().removeAll(List.of("time", "inInterface", "outInterface", "sequence"));
                actual.add(fields);
            }
            List<Map<String, String>> expected = cases().stream().flatMap(c -> c.expected().stream()).toList();
            assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(malformed).isEmpty();
            assertThat(reader.stats()).isEqualTo(new NflogReader.Stats(reader.stats().datagrams(), expectedCount, 0, 0, 0));
            assertThat(PrefixCodec.decode(received.peek().prefix())).isPresent();
        } finally {
            reader.stop();
            thread.join(Duration.ofSeconds(5));
        }
        assertThat(thread.isAlive()).as("reader thread ended after stop()").isFalse();
    }

    @Test
    void aSecondSocketCannotTakeABoundGroup() throws Exception {
        try (NflogSocket first = NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP))) {
            assertThat(first.receiveBuffer()).isGreaterThanOrEqualTo(8 << 20);
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP)))
                    .isInstanceOf(IOException.class).hasMessageContaining("another socket has bound the group");
        }
        // Closing unbinds: the group can be taken again.
        NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP)).close();
    }

    @Test
    void aBurstIsAccountedForInFull() throws Exception {
        int count = Integer.getInteger("nflog.burst", 5_000);
        BurstResult parsed = burst(count, true);
        System.out.printf("NFLOG burst (parsing): %s%n", parsed);
        assertThat(parsed.received() + parsed.lost()).as("no silent loss: %s", parsed).isEqualTo(parsed.counted());
        assertThat(parsed.malformed()).isZero();
        if (System.getProperty("nflog.burst") != null) {
            BurstResult raw = burst(count, false);
            System.out.printf("NFLOG burst (reference: recv only, no parsing): %s%n", raw);
        }
    }

    @Test
    void anOverflowedReceiveBufferIsCountedAsLossNotHidden() throws Exception {
        // A tiny buffer and nobody reading during the burst: the kernel must drop, and the reader must say how much.
        NflogSocket.Options tiny = new NflogSocket.Options(NflogLab.GROUP, 96, 8192, Duration.ofMillis(10), 20, 4096, Duration.ofMillis(100));
        long counterBefore = lab.burstCounter();
        NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), tiny);
        AtomicLong delivered = new AtomicLong();
        NflogReader reader = new NflogReader(socket, Clock.systemUTC(), packet -> delivered.incrementAndGet(), e -> { });
        lab.burst(2_000);
        Thread thread = Thread.ofPlatform().name("nflog-overflow").start(() -> {
            try {
                reader.run();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            // A gap shows only once a later message arrives: send one more packet whenever the reader has
            // caught up with everything so far, and compare only between sends, so the check never races
            // packets still in flight.
            AtomicLong seenBefore = new AtomicLong(-1);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                long seen = reader.stats().packets() + reader.stats().lost();
                long counted = (lab.burstCounter() - counterBefore) * NflogLab.BURST_LOGS;
                if (seen == counted && reader.stats().lost() > 0) {
                    return true;
                }
                if (seen == seenBefore.getAndSet(seen)) {
                    lab.burst(1);
                }
                return false;
            });
        } finally {
            reader.stop();
            thread.join(Duration.ofSeconds(5));
        }
        NflogReader.Stats stats = reader.stats();
        System.out.printf("NFLOG overflow: %s, counter x logs %d%n", stats, (lab.burstCounter() - counterBefore) * NflogLab.BURST_LOGS);
        assertThat(stats.overruns()).as("ENOBUFS reported").isPositive();
        assertThat(stats.packets()).isEqualTo(delivered.get()).isPositive();
        assertThat(stats.malformed()).isZero();
    }

    private record BurstResult(int sent, long counted, long received, long lost, long overruns, long malformed,
            double sendSeconds, double receiveSeconds) {
        @Override
        public String toString() {
            return String.format("sent %d packets, nft counter x logs %d events, received %d, lost %d (ENOBUFS %d), malformed %d; sent in %.3f s (%.0f/s),"
                            + " all received after %.3f s (%.0f events/s)", sent, counted, received, lost, overruns, malformed,
                    sendSeconds, sent / sendSeconds, receiveSeconds, received / receiveSeconds);
        }
    }

    /** Sends {@code count} logged packets and waits until every one the counter saw is received or reported lost. */
    private BurstResult burst(int count, boolean parse) throws Exception {
        long counterBefore = lab.burstCounter();
        NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP));
        AtomicLong rawPackets = new AtomicLong();
        AtomicLong lastArrival = new AtomicLong();
        NflogReader reader = new NflogReader(socket, Clock.systemUTC(), packet -> {
            rawPackets.incrementAndGet();
            lastArrival.set(System.nanoTime());
        }, e -> { });
        AtomicLong rawMessages = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean rawStop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread thread = Thread.ofPlatform().name("nflog-burst").start(() -> {
            try {
                if (parse) {
                    reader.run();
                } else {
                    rawReceive(socket, rawMessages, rawStop, lastArrival);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        long start = System.nanoTime();
        double sendSeconds;
        long counted;
        try {
            sendSeconds = lab.burst(count);
            counted = (lab.burstCounter() - counterBefore) * NflogLab.BURST_LOGS;
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> parse
                    ? reader.stats().packets() + reader.stats().lost() >= counted
                    : rawMessages.get() >= counted);
        } finally {
            if (parse) {
                reader.stop();
            } else {
                rawStop.set(true);
            }
            thread.join(Duration.ofSeconds(5));
        }
        double receiveSeconds = (lastArrival.get() - start) / 1e9;
        if (parse) {
            NflogReader.Stats stats = reader.stats();
            return new BurstResult(count, counted, stats.packets(), stats.lost(), stats.overruns(), stats.malformed(), sendSeconds, receiveSeconds);
        }
        return new BurstResult(count, counted, rawMessages.get(), 0, socket.overruns(), 0, sendSeconds, receiveSeconds);
    }

    /**
     * The reference: receives and counts netlink messages by their length fields only, no attribute
     * parsing and no objects, to show what the socket alone delivers on this machine.
     */
    private static void rawReceive(NflogSocket socket, AtomicLong counter, java.util.concurrent.atomic.AtomicBoolean stop,
            AtomicLong lastArrival) throws IOException {
        try {
            while (!stop.get()) {
                ByteBuffer datagram = socket.receive();
                if (datagram == null) {
                    continue;
                }
                ByteBuffer host = datagram.order(java.nio.ByteOrder.nativeOrder());
                int offset = 0;
                long messages = 0;
                while (offset + 16 <= host.limit()) {
                    int length = host.getInt(offset);
                    if (length < 16) {
                        break;
                    }
                    if ((host.getShort(offset + 4) & 0xffff) == 0x0400) {
                        messages++;
                    }
                    offset += (length + 3) & ~3;
                }
                counter.addAndGet(messages);
                lastArrival.set(System.nanoTime());
            }
        } finally {
            socket.close();
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "nflog.capture", matches = ".+")
    void captureGoldenDatagrams() throws Exception {
        Path directory = Path.of(System.getProperty("nflog.capture"));
        int nl0 = lab.hostInterface();
        String kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        // One message per datagram (queue threshold 1) for the single cases.
        NflogSocket.Options single = new NflogSocket.Options(NflogLab.GROUP, 96, 65536, Duration.ofMillis(50), 1, 8 << 20, Duration.ofMillis(200));
        try (NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), single)) {
            for (Case c : cases()) {
                c.traffic().send(lab);
                for (Map<String, String> expected : c.expected()) {
                    String name = c.expected().indexOf(expected) == 0 ? c.name() : c.name() + "-later";
                    write(directory, name, next(socket), List.of(expected), nl0, kernel);
                }
            }
        }
        // The batch case: several messages in one datagram, as the reader normally receives them.
        NflogSocket.Options batched = new NflogSocket.Options(NflogLab.GROUP, 96, 65536, Duration.ofMillis(500), 4, 8 << 20, Duration.ofMillis(200));
        try (NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), batched)) {
            List<Map<String, String>> expected = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                NflogLab.udp(lab.peer, i % 2 == 0 ? PEER4 : PEER6, 41000 + i, i % 2 == 0 ? HOST4 : HOST6, 6000 + i, 8);
                expected.add(in(i % 2 == 0 ? 2 : 10, 17, i % 2 == 0 ? PEER4 : PEER6, i % 2 == 0 ? HOST4 : HOST6, 41000 + i, 6000 + i, -1, -1,
                        "cf1 a in.udp allowlisted"));
            }
            write(directory, "batch", next(socket), expected, nl0, kernel);
        }
    }

    private static byte[] next(NflogSocket socket) throws IOException {
        Instant deadline = Instant.now().plusSeconds(5);
        while (Instant.now().isBefore(deadline)) {
            ByteBuffer datagram = socket.receive();
            if (datagram != null) {
                byte[] bytes = new byte[datagram.remaining()];
                datagram.get(bytes);
                return bytes;
            }
        }
        throw new IOException("no datagram within 5 s");
    }

    /** Checks the datagram against what was sent, then writes it with the expectation as a golden file. */
    private static void write(Path directory, String name, byte[] datagram, List<Map<String, String>> expected, int nl0, String kernel)
            throws Exception {
        List<LoggedPacket> packets = Golden.parse(datagram);
        assertThat(packets).as("%s: packets in the datagram", name).hasSameSizeAs(expected);
        Properties golden = new Properties();
        golden.setProperty("datagram", HexFormat.of().formatHex(datagram));
        golden.setProperty("packets", String.valueOf(packets.size()));
        for (int i = 0; i < packets.size(); i++) {
            LoggedPacket packet = packets.get(i);
            Map<String, String> fields = new LinkedHashMap<>(expected.get(i));
            boolean output = packet.hook() == LoggedPacket.HOOK_OUTPUT;
            // Only these come from the capture itself, each checked against an outside source.
            // The kernel stamps received packets only; locally sent ones (output hook) come without a time.
            if (!(output && packet.time().equals(Golden.NO_TIMESTAMP))) {
                assertThat(packet.time()).as("%s packet %d time", name, i).isBetween(Instant.now().minusSeconds(10), Instant.now());
            }
            fields.put("time", Golden.fields(packet).get("time"));
            fields.put("inInterface", String.valueOf(output ? 0 : nl0));
            fields.put("outInterface", String.valueOf(output ? nl0 : 0));
            fields.put("sequence", String.valueOf(packet.sequence()));
            Map<String, String> actual = Golden.fields(packet);
            assertThat(actual).as("%s packet %d", name, i).containsAllEntriesOf(fields);
            for (String field : Golden.FIELDS) {
                golden.setProperty("p" + i + "." + field, actual.get(field));
            }
        }
        Files.createDirectories(directory);
        try (var out = Files.newBufferedWriter(directory.resolve(name + ".properties"), StandardCharsets.ISO_8859_1)) {
            golden.store(out, "Captured by NflogReaderIT#captureGoldenDatagrams (kernel " + kernel + ", x86-64): " + name);
        }
    }

    private static Map<String, String> in(int family, int protocol, String source, String destination, int sourcePort,
            int destinationPort, int icmpType, int icmpCode, String prefix) {
        return packet(family, 1, protocol, source, destination, sourcePort, destinationPort, icmpType, icmpCode, prefix);
    }

    private static Map<String, String> out(int family, int protocol, String source, String destination, int sourcePort,
            int destinationPort, String prefix) {
        return packet(family, 3, protocol, source, destination, sourcePort, destinationPort, -1, -1, prefix);
    }

    private static Map<String, String> packet(int family, int hook, int protocol, String source, String destination, int sourcePort,
            int destinationPort, int icmpType, int icmpCode, String prefix) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("family", String.valueOf(family));
        fields.put("hook", String.valueOf(hook));
        fields.put("protocol", String.valueOf(protocol));
        fields.put("source", java.net.InetAddress.ofLiteral(source).getHostAddress());
        fields.put("destination", java.net.InetAddress.ofLiteral(destination).getHostAddress());
        fields.put("sourcePort", String.valueOf(sourcePort));
        fields.put("destinationPort", String.valueOf(destinationPort));
        fields.put("icmpType", String.valueOf(icmpType));
        fields.put("icmpCode", String.valueOf(icmpCode));
        fields.put("prefix", prefix);
        return fields;
    }
}
