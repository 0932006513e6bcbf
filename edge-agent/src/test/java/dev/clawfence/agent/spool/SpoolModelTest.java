package dev.clawfence.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 4: "Spool model test: random sequences of append, read, ack, crash, truncated or corrupted
 * records against an in-memory model; every lost record is counted, none is duplicated."
 *
 * <p>The model remembers every sequence number issued and its payload. After every crash and every
 * so often, each issued number above the acknowledged mark must be exactly one of: readable with its
 * payload, or inside a pending loss; with no damage and no drop since the last check, no new loss may
 * appear. Replay one run with {@code -Dspool.model.seed=<seed>} (the seed is printed).
 */
class SpoolModelTest {

    private static final int OPERATIONS = Integer.getInteger("spool.model.operations", 2_500);

    @TempDir
    Path root;

    static Stream<Long> seeds() {
        Long replay = Long.getLong("spool.model.seed");
        if (replay != null) {
            return Stream.of(replay);
        }
        return Stream.of(1L, 2L, 3L, 4L, System.nanoTime());
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomOperationsAgreeWithTheModel(long seed) throws IOException {
        System.out.println("SpoolModelTest seed " + seed + " (replay: -Dspool.model.seed=" + seed + ")");
        new Run(seed, root.resolve("seed-" + seed)).run();
    }

    /** One seeded run: the spool under test, and what it must agree with. */
    private static final class Run {
        final Random random;
        final long seed;
        final Path dir;
        final SpoolLimits limits;
        final TestClock clock = new TestClock();
        final TreeMap<Long, byte[]> issued = new TreeMap<>();
        Spool spool;
        String boot = "boot-0";
        int boots;
        long acked;
        long cursor;
        long highestIssued;
        boolean damagedSinceCheck;
        boolean offline;
        long droppedAtCheck;
        List<Loss> lossesAtCheck = List.of();
        int crashes;
        int corruptions;
        final java.util.ArrayDeque<String> recent = new java.util.ArrayDeque<>();

        void note(String line) {
            if (recent.size() == 40) {
                recent.removeFirst();
            }
            recent.addLast(line);
        }

        Run(long seed, Path dir) {
            this.seed = seed;
            this.random = new Random(seed);
            this.dir = dir;
            int segment = 2048 + random.nextInt(4096);
            this.limits = new SpoolLimits(segment * (2L + random.nextInt(5)), segment, 1 + random.nextInt(20),
                    Duration.ofMillis(50), new int[] {7, 100, 5_000}[random.nextInt(3)]);
        }

        void run() throws IOException {
            spool = Spool.open(dir, limits, clock, boot);
            for (int op = 0; op < OPERATIONS; op++) {
                int dice = random.nextInt(100);
                String what = dice < 50 ? "append" : dice < 72 ? (offline ? "append" : "read") : dice < 84 ? (offline ? "sync" : "ack")
                        : dice < 88 ? "sync" : dice < 91 ? "tick" : dice < 94 ? "crash" : dice < 97 ? "offline" : "check";
                try {
                    switch (what) {
                        case "append" -> append();
                        case "read" -> read();
                        case "ack" -> ack();
                        case "sync" -> spool.sync();
                        case "tick" -> clock.advance(Duration.ofMillis(random.nextInt(100)));
                        case "crash" -> crash();
                        case "offline" -> {
                            // The uploader loses the control plane for a while: the spool fills and drops its oldest.
                            offline = !offline;
                            note(offline ? "uploader offline" : "uploader online");
                        }
                        default -> check();
                    }
                    checkLimits();
                } catch (AssertionError | RuntimeException | IOException e) {
                    throw new AssertionError("seed " + seed + ", operation " + op + " (" + what + "): " + e.getMessage()
                            + "\nlast operations:\n  " + String.join("\n  ", recent), e);
                }
            }
            check();
            spool.close();
            System.out.println("SpoolModelTest seed " + seed + ": " + OPERATIONS + " operations, " + issued.size() + " issued, "
                    + crashes + " crashes (" + corruptions + " with damage), acked through " + acked + ", "
                    + spool.stats().totalDropped() + " dropped when full");
        }

        void append() throws IOException {
            int count = random.nextInt(5) == 0 ? 1 + random.nextInt(30) : 1;
            List<byte[]> payloads = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                byte[] payload = new byte[random.nextInt(random.nextInt(10) == 0 ? 600 : 160)];
                random.nextBytes(payload);
                payloads.add(payload);
            }
            long seq = count == 1 ? spool.append(payloads.getFirst()) : spool.appendAll(payloads);
            assertThat(seq).as("a new sequence number is above every one issued before").isGreaterThan(highestIssued);
            for (byte[] payload : payloads) {
                issued.put(seq, payload);
                highestIssued = seq++;
            }
            note("append " + count + " -> through " + highestIssued);
        }

        void read() throws IOException {
            Spool.Batch batch = spool.read(cursor, 1 + random.nextInt(40), 1 + random.nextInt(3000));
            long previous = Math.max(cursor, acked);
            for (Spool.Record record : batch.records()) {
                assertThat(record.seq()).as("read order").isGreaterThan(previous);
                assertIssued(record);
                previous = record.seq();
            }
            note("read after " + cursor + " -> " + batch.records().size() + " records through " + batch.lastSeq(cursor));
            cursor = batch.lastSeq(cursor);
        }

        void ack() throws IOException {
            if (cursor <= acked) {
                return;
            }
            // The control plane acknowledges some prefix of what it received.
            acked = acked + 1 + (long) random.nextInt((int) Math.min(Integer.MAX_VALUE, cursor - acked));
            spool.ack(acked);
            note("ack " + acked);
            Spool.Batch again = spool.read(0, 5, 10_000);
            if (!again.records().isEmpty()) {
                assertThat(again.records().getFirst().seq()).as("nothing at or below the ack is read again").isGreaterThan(acked);
            }
            assertThat(spool.losses()).allSatisfy(loss -> assertThat(loss.lastSeq()).isGreaterThan(acked));
        }

        void crash() throws IOException {
            crashes++;
            int kind = random.nextInt(4);
            if (kind == 0) {
                spool.close();
            } else {
                spool.abandon();
            }
            if (kind == 2) {
                // A host crash: the page cache is gone and the tail is cut anywhere.
                List<Path> files = segmentFiles();
                if (!files.isEmpty()) {
                    Path last = files.getLast();
                    long size = Files.size(last);
                    try (FileChannel channel = FileChannel.open(last, StandardOpenOption.WRITE)) {
                        long to = size == 0 ? 0 : random.nextLong(size + 1);
                        channel.truncate(to);
                        note("truncated " + last.getFileName() + " from " + size + " to " + to);
                    }
                }
                boot = "boot-" + ++boots;
                damagedSinceCheck = true;
                corruptions++;
            } else if (kind == 3) {
                List<Path> files = segmentFiles();
                if (!files.isEmpty()) {
                    Path file = files.get(random.nextInt(files.size()));
                    long size = Files.size(file);
                    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        for (int flips = 1 + random.nextInt(3); flips > 0 && size > 0; flips--) {
                            long at = random.nextLong(size);
                            ByteBuffer one = ByteBuffer.allocate(1);
                            channel.read(one, at);
                            one.put(0, (byte) (one.get(0) ^ (1 + random.nextInt(255)))).position(0);
                            channel.write(one, at);
                            note("flipped " + file.getFileName() + " at " + at + " of " + size);
                        }
                    }
                }
                if (random.nextBoolean()) {
                    boot = "boot-" + ++boots;
                }
                damagedSinceCheck = true;
                corruptions++;
            }
            note("crash kind " + kind);
            spool = Spool.open(dir, limits, clock, boot);
            note("reopened in " + boot + ": " + spool.recoveryNotes() + "; next losses " + spool.losses());
            // An ack that deleted nothing may be forgotten in a crash: those records come again (the
            // control plane stores each number once), but an ack is never moved forward by itself.
            assertThat(spool.stats().ackedThrough()).as("the ack after a restart").isLessThanOrEqualTo(acked);
            acked = spool.stats().ackedThrough();
            // The uploader starts over from what the control plane acknowledged.
            cursor = acked;
            check();
        }

        /** Every issued number above the ack is readable with its payload or inside a pending loss, never both. */
        void check() throws IOException {
            Map<Long, byte[]> readable = new TreeMap<>();
            long after = 0;
            while (true) {
                Spool.Batch batch = spool.read(after, 1 + random.nextInt(200), 1 << 20);
                if (batch.records().isEmpty()) {
                    break;
                }
                for (Spool.Record record : batch.records()) {
                    assertThat(record.seq()).as("read order").isGreaterThan(Math.max(after, acked));
                    assertIssued(record);
                    readable.put(record.seq(), record.payload());
                    after = record.seq();
                }
            }
            List<Loss> losses = spool.losses();
            long lostIssued = 0;
            for (long seq : issued.tailMap(acked, false).keySet()) {
                boolean lost = losses.stream().anyMatch(loss -> loss.firstSeq() <= seq && seq <= loss.lastSeq());
                if (readable.containsKey(seq) == lost) {
                    fail("sequence " + seq + " is " + (lost ? "both readable and reported lost" : "neither readable nor in a reported loss")
                            + "; losses " + losses);
                }
                lostIssued += lost ? 1 : 0;
            }
            long counted = 0;
            long union = 0;
            long through = 0;
            for (Loss loss : losses) {
                assertThat(loss.lastSeq()).as("a pending loss is above the ack").isGreaterThan(acked);
                counted += loss.count();
                long from = Math.max(loss.firstSeq(), Math.max(through + 1, acked + 1));
                if (from <= loss.lastSeq()) {
                    union += loss.lastSeq() - from + 1;
                    through = loss.lastSeq();
                }
                assertThat(LongStream.rangeClosed(loss.firstSeq(), loss.lastSeq()).noneMatch(readable::containsKey))
                        .as("loss %s covers no readable record", loss).isTrue();
            }
            assertThat(counted).as("every lost record is counted").isGreaterThanOrEqualTo(lostIssued);
            assertThat(counted).as("no number is counted twice").isLessThanOrEqualTo(union + overlapWithAck(losses));
            Spool.Stats stats = spool.stats();
            assertThat(stats.totalDropped()).as("dropped count never shrinks").isGreaterThanOrEqualTo(droppedAtCheck);
            if (!damagedSinceCheck && stats.totalDropped() == droppedAtCheck) {
                List<Loss> expected = lossesAtCheck.stream().filter(loss -> loss.lastSeq() > acked).toList();
                assertThat(losses).as("without damage or a full spool nothing is lost").isEqualTo(expected);
            }
            assertThat(stats.recordsPending()).as("records pending").isEqualTo(readable.size());
            damagedSinceCheck = false;
            droppedAtCheck = stats.totalDropped();
            lossesAtCheck = losses;
        }

        /** Counts of losses straddling the ack may still include numbers at or below it. */
        private long overlapWithAck(List<Loss> losses) {
            return losses.stream().filter(loss -> loss.firstSeq() <= acked).mapToLong(loss -> acked - loss.firstSeq() + 1).sum();
        }

        void assertIssued(Spool.Record record) {
            byte[] payload = issued.get(record.seq());
            if (payload == null) {
                fail("read sequence " + record.seq() + ", which was never issued");
            }
            if (!Arrays.equals(payload, record.payload())) {
                fail("sequence " + record.seq() + " reads back a different payload");
            }
        }

        void checkLimits() throws IOException {
            long onDisk = 0;
            for (Path file : segmentFiles()) {
                onDisk += Files.size(file);
            }
            assertThat(onDisk).as("segment bytes on disk within maxBytes").isLessThanOrEqualTo(limits.maxBytes());
            assertThat(spool.stats().bytesUsed()).as("bytesUsed matches the files").isEqualTo(onDisk);
        }

        List<Path> segmentFiles() throws IOException {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> list = Files.list(dir)) {
                list.filter(path -> path.getFileName().toString().endsWith(".seg")).sorted().forEach(files::add);
            }
            return files;
        }
    }
}
