package dev.clawfence.bench;

import dev.clawfence.agent.nflog.LoggedPacket;
import dev.clawfence.agent.nflog.NflogFormatException;
import dev.clawfence.agent.nflog.NflogParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * NFLOG parse throughput in events per second: one datagram the size of a full kernel batch (64 KiB),
 * made of the golden single-message datagrams captured from the kernel (edge-agent test resources: run
 * from the repository root, or point {@code -Dnflog.golden=DIR} at them), TCP/UDP/ICMP over IPv4 and IPv6
 * in turn. Every event becomes a {@link LoggedPacket} (two InetAddress objects, the prefix string). The
 * reference, in the same run: the netlink header walk alone, counting messages without reading them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class NflogParserBenchmark {

    private static final List<String> CASES = List.of("tcp4", "tcp6", "udp4", "udp6", "icmp4", "icmp6", "out-udp4");
    /** About 64 KiB (the reader's default batch size) of the ~208-byte messages; a multiple of the 7 cases. */
    static final int EVENTS = 315;

    private ByteBuffer batch;
    private final Instant now = Instant.parse("2026-11-24T12:00:00Z");

    @Setup(Level.Trial)
    public void setUp() {
        Path directory = Path.of(System.getProperty("nflog.golden", "edge-agent/src/test/resources/nflog"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < EVENTS; i++) {
            byte[] datagram = golden(directory.resolve(CASES.get(i % CASES.size()) + ".properties"));
            out.write(datagram, 0, datagram.length);
            out.write(new byte[((datagram.length + 3) & ~3) - datagram.length], 0, ((datagram.length + 3) & ~3) - datagram.length);
        }
        batch = ByteBuffer.wrap(out.toByteArray());
        int[] count = {0};
        try {
            NflogParser.parse(batch, now, packet -> count[0]++);
        } catch (NflogFormatException e) {
            throw new IllegalStateException("golden batch does not parse", e);
        }
        if (count[0] != EVENTS) {
            throw new IllegalStateException("golden batch parsed into " + count[0] + " events, expected " + EVENTS);
        }
    }

    private static byte[] golden(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            Properties properties = new Properties();
            properties.load(reader);
            return HexFormat.of().parseHex(properties.getProperty("datagram"));
        } catch (IOException e) {
            throw new UncheckedIOException("golden datagram " + file.toAbsolutePath()
                    + " (run from the repository root or set -Dnflog.golden=DIR)", e);
        }
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public int parse(Blackhole blackhole) throws NflogFormatException {
        return NflogParser.parse(batch, now, blackhole::consume);
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public int referenceHeaderWalk() {
        ByteBuffer host = batch.duplicate().order(ByteOrder.nativeOrder());
        int offset = 0;
        int messages = 0;
        while (offset + 16 <= host.limit()) {
            int length = host.getInt(offset);
            if ((host.getShort(offset + 4) & 0xffff) == 0x0400) {
                messages++;
            }
            offset += (length + 3) & ~3;
        }
        return messages;
    }
}
