package dev.clawfence.bench;

import dev.clawfence.agent.spool.Spool;
import dev.clawfence.agent.spool.SpoolLimits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The agent's event spool (issue 4: ingest target 150,000 events/s), single thread, 120-byte records,
 * in a temporary directory under {@code java.io.tmpdir}.
 *
 * <ul>
 *   <li>{@code append}: {@link Spool#append} with the default limits (fsync every 1,000 records or
 *       100 ms, 4 MiB segments, 256 MiB); an ack every 10,000 records keeps it from filling, as an
 *       uploader would.
 *   <li>{@code referenceRawWrite}: the same 136 framed bytes per record written with
 *       {@code FileChannel.write} and {@code force(false)} every 1,000 records: the floor the spool's
 *       own work (CRC32C, bookkeeping, segment files, sequence leases) adds to.
 *   <li>{@code appendBatchOf32} / {@code referenceRawWriteBatchOf32}: the same, 32 records per call
 *       ({@link Spool#appendAll}) and per {@code write}, as the NFLOG reader receives events in batches.
 *   <li>{@code read}: batches of 1,000 records from a spool of 500,000 (about 68 MB, in the page cache).
 *   <li>{@code referenceRawRead}: positional {@code FileChannel.read} of the same 136,000 bytes per batch.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx512m")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class SpoolBenchmark {

    static final int PAYLOAD = 120;
    static final int FRAME = PAYLOAD + 16;
    static final int BATCH = 1_000;
    static final int WRITE_BATCH = 32;

    @State(Scope.Benchmark)
    public static class Appending {
        Path dir;
        Spool spool;
        byte[] payload;
        List<byte[]> batch;
        FileChannel raw;
        ByteBuffer rawFrame;
        ByteBuffer rawBatch;
        long rawPosition;
        int rawUnsynced;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("clawfence-spool-bench");
            spool = Spool.open(dir.resolve("spool"), SpoolLimits.defaults(), Clock.systemUTC());
            payload = new byte[PAYLOAD];
            new Random(1).nextBytes(payload);
            raw = FileChannel.open(dir.resolve("raw.bin"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            rawFrame = ByteBuffer.allocate(FRAME).putInt(PAYLOAD).putInt(0).putLong(0).put(payload).flip();
            batch = Collections.nCopies(WRITE_BATCH, payload);
            rawBatch = ByteBuffer.allocate(FRAME * WRITE_BATCH);
            while (rawBatch.hasRemaining()) {
                rawBatch.put(rawFrame.duplicate());
            }
            rawBatch.flip();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            spool.close();
            raw.close();
            deleteTree(dir);
        }
    }

    @State(Scope.Benchmark)
    public static class Reading {
        static final int RECORDS = 500_000;
        Path dir;
        Spool spool;
        FileChannel raw;
        ByteBuffer rawBuffer = ByteBuffer.allocate(FRAME * BATCH);
        long after;
        long rawPosition;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("clawfence-spool-bench");
            spool = Spool.open(dir.resolve("spool"), SpoolLimits.defaults(), Clock.systemUTC());
            byte[] payload = new byte[PAYLOAD];
            new Random(2).nextBytes(payload);
            for (int i = 0; i < RECORDS; i++) {
                spool.append(payload);
            }
            spool.sync();
            raw = FileChannel.open(dir.resolve("raw.bin"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            ByteBuffer block = ByteBuffer.allocate(FRAME * BATCH);
            for (int i = 0; i < RECORDS / BATCH; i++) {
                block.clear();
                while (block.hasRemaining()) {
                    block.putInt(PAYLOAD).putInt(0).putLong(i).put(payload);
                }
                block.flip();
                while (block.hasRemaining()) {
                    raw.write(block);
                }
            }
            raw.force(false);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            spool.close();
            raw.close();
            deleteTree(dir);
        }
    }

    @Benchmark
    public long append(Appending state) throws IOException {
        long seq = state.spool.append(state.payload);
        if (seq % 10_000 == 0) {
            state.spool.ack(seq - 5_000);
        }
        return seq;
    }

    @Benchmark
    public long referenceRawWrite(Appending state) throws IOException {
        ByteBuffer frame = state.rawFrame.rewind();
        long at = state.rawPosition;
        while (frame.hasRemaining()) {
            at += state.raw.write(frame, at);
        }
        // Wrap at 64 MiB so the file stays the size of a few spool segments' worth of page cache.
        state.rawPosition = at >= 64L << 20 ? 0 : at;
        if (++state.rawUnsynced == BATCH) {
            state.raw.force(false);
            state.rawUnsynced = 0;
        }
        return at;
    }

    @Benchmark
    @OperationsPerInvocation(WRITE_BATCH)
    public long appendBatchOf32(Appending state) throws IOException {
        long seq = state.spool.appendAll(state.batch);
        if (seq % 10_000 < WRITE_BATCH && seq > 5_000) {
            state.spool.ack(seq - 5_000);
        }
        return seq;
    }

    @Benchmark
    @OperationsPerInvocation(WRITE_BATCH)
    public long referenceRawWriteBatchOf32(Appending state) throws IOException {
        ByteBuffer frames = state.rawBatch.rewind();
        long at = state.rawPosition;
        while (frames.hasRemaining()) {
            at += state.raw.write(frames, at);
        }
        state.rawPosition = at >= 64L << 20 ? 0 : at;
        state.rawUnsynced += WRITE_BATCH;
        if (state.rawUnsynced >= BATCH) {
            state.raw.force(false);
            state.rawUnsynced = 0;
        }
        return at;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int read(Reading state) throws IOException {
        if (state.after >= Reading.RECORDS) {
            state.after = 0;
        }
        Spool.Batch batch = state.spool.read(state.after, BATCH, 1 << 20);
        state.after = batch.lastSeq(state.after);
        return batch.records().size();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int referenceRawRead(Reading state) throws IOException {
        ByteBuffer buffer = state.rawBuffer.clear();
        long at = state.rawPosition;
        while (buffer.hasRemaining()) {
            at += state.raw.read(buffer, at);
        }
        state.rawPosition = at >= (long) FRAME * Reading.RECORDS ? 0 : at;
        return buffer.position();
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
