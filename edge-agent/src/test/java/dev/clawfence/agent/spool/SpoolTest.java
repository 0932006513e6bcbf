package dev.clawfence.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Framing, recovery, limits and input checks of the spool, one case each. */
class SpoolTest {

    private static final String BOOT = "boot-a";

    @TempDir
    Path dir;

    private final TestClock clock = new TestClock();

    /** 1 KiB segments, 4 KiB in all; explicit syncs only (unless a test sets its own). */
    private final SpoolLimits small = new SpoolLimits(4096, 1024, 1_000_000, Duration.ofHours(1), 100);

    private Spool open(SpoolLimits limits, String boot) throws IOException {
        return Spool.open(dir, limits, clock, boot);
    }

    private static byte[] event(long i) {
        return ("event " + i + " " + "x".repeat(40)).getBytes(StandardCharsets.US_ASCII);
    }

    private static List<Long> seqs(Spool spool) throws IOException {
        List<Long> seqs = new ArrayList<>();
        for (Spool.Record record : spool.read(0, Integer.MAX_VALUE, Integer.MAX_VALUE).records()) {
            seqs.add(record.seq());
        }
        return seqs;
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(path -> path.getFileName().toString().endsWith(".seg")).sorted().toList();
        }
    }

    @Test
    void recordsComeBackInOrderWithTheirPayloadsBeforeAnySync() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            for (long i = 1; i <= 50; i++) {
                assertThat(spool.append(event(i))).isEqualTo(i);
            }
            // Starting a new segment syncs the one before; the newest records are not yet synced.
            assertThat(spool.stats().syncedThrough()).isLessThan(50);

            Spool.Batch batch = spool.read(0, 10, Integer.MAX_VALUE);
            assertThat(batch.records()).extracting(Spool.Record::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
            assertThat(batch.records().get(2).payload()).isEqualTo(event(3));
            assertThat(spool.read(45, 100, Integer.MAX_VALUE).records()).extracting(Spool.Record::seq).containsExactly(46L, 47L, 48L, 49L, 50L);
            assertThat(spool.read(50, 100, Integer.MAX_VALUE).records()).isEmpty();
            // maxBytes bounds the payload, but one record always comes back so a large one cannot block the queue.
            assertThat(spool.read(0, 100, event(1).length * 3).records()).hasSize(3);
            assertThat(spool.read(0, 100, 1).records()).hasSize(1);
            assertThat(segments()).hasSizeGreaterThan(1);
            assertThat(spool.stats().recordsPending()).isEqualTo(50);
        }
    }

    @Test
    void aBatchGetsConsecutiveNumbersAcrossSegments() throws IOException {
        try (Spool spool = open(small.withMaxBytes(1 << 20), BOOT)) {
            spool.append(event(0));
            List<byte[]> batch = new ArrayList<>();
            for (long i = 1; i <= 60; i++) {
                batch.add(event(i));
            }
            assertThat(spool.appendAll(batch)).isEqualTo(2);
            assertThat(segments()).hasSizeGreaterThan(2);
            List<Spool.Record> records = spool.read(0, 100, Integer.MAX_VALUE).records();
            assertThat(records).extracting(Spool.Record::seq).hasSize(61).startsWith(1L, 2L).endsWith(61L).isSorted();
            assertThat(records.get(60).payload()).isEqualTo(event(60));
            assertThat(spool.stats().recordsPending()).isEqualTo(61);
        }
        try (Spool reopened = open(small.withMaxBytes(1 << 20), BOOT)) {
            assertThat(seqs(reopened)).hasSize(61);
            assertThat(reopened.losses()).isEmpty();
        }
    }

    @Test
    void aCleanCloseContinuesNumberingWithoutAGap() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            spool.append(event(1));
            spool.append(event(2));
        }
        try (Spool spool = open(small, "another-boot")) {
            assertThat(spool.append(event(3))).isEqualTo(3);
            assertThat(spool.losses()).isEmpty();
            assertThat(seqs(spool)).containsExactly(1L, 2L, 3L);
            assertThat(spool.recoveryNotes()).isEmpty();
        }
    }

    @Test
    void aKilledProcessLosesNothingItAppendedAndNumberingContinues() throws IOException {
        Spool spool = open(small, BOOT);
        for (long i = 1; i <= 30; i++) {
            spool.append(event(i));
        }
        spool.abandon();

        try (Spool reopened = open(small, BOOT)) {
            assertThat(seqs(reopened)).hasSize(30).endsWith(30L);
            assertThat(reopened.losses()).isEmpty();
            assertThat(reopened.append(event(31))).isEqualTo(31);
        }
    }

    @Test
    void aHostCrashNeverReusesANumberAndReportsTheReservedOnesAsATornTail() throws IOException {
        Spool spool = open(small.withSequenceLease(10), BOOT);
        for (long i = 1; i <= 4; i++) {
            spool.append(event(i));
        }
        spool.sync();
        spool.abandon();

        // Same files, but the machine rebooted: records 5..10 may have been issued and lost with the page cache.
        try (Spool reopened = open(small.withSequenceLease(10), "boot-b")) {
            assertThat(reopened.losses()).containsExactly(new Loss(5, 10, 6, Loss.Reason.TORN_TAIL));
            assertThat(reopened.append(event(11))).isEqualTo(11);
            assertThat(reopened.recoveryNotes()).singleElement().asString().contains("5..10").contains("host restarted");
        }
        // The loss is pending until acknowledged, across restarts.
        try (Spool reopened = open(small.withSequenceLease(10), "boot-b")) {
            assertThat(reopened.losses()).containsExactly(new Loss(5, 10, 6, Loss.Reason.TORN_TAIL));
            reopened.ack(11);
            assertThat(reopened.losses()).isEmpty();
        }
        try (Spool reopened = open(small.withSequenceLease(10), "boot-b")) {
            assertThat(reopened.losses()).isEmpty();
            assertThat(reopened.append(event(12))).isEqualTo(12);
        }
    }

    @Test
    void aTornTailIsCutOffCountedAndNumberingSkipsPastIt() throws IOException {
        Spool spool = open(small.withSequenceLease(1_000), BOOT);
        for (long i = 1; i <= 5; i++) {
            spool.append(event(i));
        }
        spool.abandon();
        Path last = segments().getLast();
        long size = Files.size(last);
        try (FileChannel channel = FileChannel.open(last, StandardOpenOption.WRITE)) {
            channel.truncate(size - 7);
        }

        try (Spool reopened = open(small.withSequenceLease(1_000), BOOT)) {
            assertThat(seqs(reopened)).containsExactly(1L, 2L, 3L, 4L);
            assertThat(reopened.losses()).containsExactly(new Loss(5, 1_000, 996, Loss.Reason.TORN_TAIL));
            assertThat(reopened.append(event(6))).isEqualTo(1_001);
            assertThat(Files.size(last)).as("torn bytes removed").isEqualTo(size - event(5).length - SegmentFormat.FRAME_HEADER_BYTES);
        }
    }

    @Test
    void aCorruptedRecordInTheMiddleIsSkippedAndCounted() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            for (long i = 1; i <= 5; i++) {
                spool.append(event(i));
            }
        }
        Path segment = segments().getFirst();
        int frame = SegmentFormat.FRAME_HEADER_BYTES + event(1).length;
        flip(segment, SegmentFormat.HEADER_BYTES + frame + SegmentFormat.FRAME_HEADER_BYTES + 3); // a payload byte of record 2

        try (Spool reopened = open(small, BOOT)) {
            assertThat(seqs(reopened)).containsExactly(1L, 3L, 4L, 5L);
            assertThat(reopened.losses()).containsExactly(new Loss(2, 2, 1, Loss.Reason.CORRUPT));
            assertThat(reopened.recoveryNotes()).singleElement().asString().contains("record 2 fails its checksum");
            assertThat(reopened.append(event(6))).isEqualTo(6);
            assertThat(reopened.stats().recordsPending()).isEqualTo(5);
        }
    }

    @Test
    void aCorruptedLengthLosesTheRestOfItsSegmentCountedByTheNextSegmentsNumbers() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            for (long i = 1; i <= 40; i++) {
                spool.append(event(i));
            }
        }
        List<Path> files = segments();
        assertThat(files).hasSizeGreaterThanOrEqualTo(3);
        int frame = SegmentFormat.FRAME_HEADER_BYTES + event(1).length;
        flip(files.getFirst(), SegmentFormat.HEADER_BYTES + 2 * frame); // the length of record 3
        long secondFirst = Long.parseLong(files.get(1).getFileName().toString().replaceAll("\\D", ""));

        try (Spool reopened = open(small, BOOT)) {
            assertThat(reopened.losses()).containsExactly(new Loss(3, secondFirst - 1, secondFirst - 3, Loss.Reason.CORRUPT));
            assertThat(seqs(reopened)).startsWith(1L, 2L, secondFirst).endsWith(40L).hasSize((int) (40 - (secondFirst - 3)));
        }
    }

    @Test
    void corruptionThatAppearsWhileRunningIsCountedWhenRead() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            for (long i = 1; i <= 5; i++) {
                spool.append(event(i));
            }
            spool.sync();
            flip(segments().getFirst(), SegmentFormat.HEADER_BYTES + SegmentFormat.FRAME_HEADER_BYTES + 1); // record 1's payload

            assertThat(seqs(spool)).containsExactly(2L, 3L, 4L, 5L);
            assertThat(spool.losses()).containsExactly(new Loss(1, 1, 1, Loss.Reason.CORRUPT));
        }
    }

    @Test
    void aFullSpoolDropsItsOldestSegmentAndCountsItsUnacknowledgedRecords() throws IOException {
        long dropped;
        try (Spool spool = open(small, BOOT)) {
            spool.append(event(1));
            spool.append(event(2));
            spool.ack(2);
            for (long i = 3; i <= 200; i++) {
                spool.append(event(i));
                assertThat(spool.stats().bytesUsed()).isLessThanOrEqualTo(small.maxBytes());
            }
            Spool.Stats stats = spool.stats();
            dropped = stats.totalDropped();
            assertThat(dropped).isPositive();
            List<Loss> losses = spool.losses();
            assertThat(losses).allSatisfy(loss -> assertThat(loss.reason()).isEqualTo(Loss.Reason.FULL_DROPPED_OLDEST));
            assertThat(losses.getFirst().firstSeq()).as("acknowledged records are not counted").isEqualTo(3);
            assertThat(losses.stream().mapToLong(Loss::count).sum()).isEqualTo(dropped);
            List<Long> left = seqs(spool);
            assertThat(left.getFirst()).isEqualTo(losses.getLast().lastSeq() + 1);
            assertThat(left).endsWith(200L);
            assertThat(stats.recordsPending()).isEqualTo(left.size());
        }
        try (Spool reopened = open(small, BOOT)) {
            assertThat(reopened.stats().totalDropped()).as("the lifetime count survives a restart").isEqualTo(dropped);
        }
    }

    @Test
    void anAckDeletesCoveredSegmentsAndNothingAtOrBelowItIsReadAgain() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            for (long i = 1; i <= 40; i++) {
                spool.append(event(i));
            }
            int before = segments().size();
            spool.ack(25);
            assertThat(segments().size()).isLessThan(before);
            assertThat(seqs(spool)).first().isEqualTo(26L);
            assertThat(spool.read(3, 5, Integer.MAX_VALUE).records()).extracting(Spool.Record::seq).containsExactly(26L, 27L, 28L, 29L, 30L);
            spool.ack(10); // an old ack changes nothing
            assertThat(spool.stats().ackedThrough()).isEqualTo(25);
            assertThatThrownBy(() -> spool.ack(41)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("throughSeq: 41 is beyond the last issued sequence number 40");
        }
        try (Spool reopened = open(small, BOOT)) {
            assertThat(seqs(reopened)).first().isEqualTo(26L);
        }
    }

    @Test
    void syncFollowsTheGroupCommitPolicy() throws IOException {
        try (Spool spool = open(small.withSync(3, Duration.ofMillis(100)), BOOT)) {
            spool.append(event(1));
            spool.append(event(2));
            assertThat(spool.stats().syncedThrough()).isZero();
            spool.append(event(3));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(spool.stats().syncedThrough()).as("every 3 records").isEqualTo(3));
            spool.append(event(4));
            clock.advance(Duration.ofMillis(100));
            spool.append(event(5));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(
                    () -> assertThat(spool.stats().syncedThrough()).as("the oldest unsynced record is 100 ms old").isEqualTo(5));
            spool.append(event(6));
            assertThat(spool.stats().syncedThrough()).isEqualTo(5);
            spool.sync();
            assertThat(spool.stats().syncedThrough()).as("sync() returns once synced").isEqualTo(6);
        }
    }

    @Test
    void aDamagedMetaFileIsReportedAndTheSpoolStillOpens() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            spool.append(event(1));
        }
        Files.write(dir.resolve(SpoolMeta.FILE), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
        try (Spool reopened = open(small, BOOT)) {
            assertThat(reopened.recoveryNotes()).singleElement().asString().contains("spool.meta is damaged");
            assertThat(seqs(reopened)).containsExactly(1L);
            assertThat(reopened.append(event(2))).isEqualTo(2);
        }
    }

    @Test
    void badInputIsRefusedNamingTheField() throws IOException {
        try (Spool spool = open(small, BOOT)) {
            assertThatThrownBy(() -> spool.append(new byte[2000])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("payload: 2000 bytes is more than the 976 bytes a record may carry");
            assertThatThrownBy(() -> spool.append(null)).hasMessage("payload: must not be null");
            assertThatThrownBy(() -> spool.read(0, 0, 10)).hasMessage("maxRecords: 0 must be at least 1");
            assertThatThrownBy(() -> spool.appendAll(List.of(new byte[1], new byte[977]))).hasMessage("payloads[1]: 977 bytes is more than the 976 bytes a record may carry");
            assertThatThrownBy(() -> spool.appendAll(List.of())).hasMessage("payloads: must not be empty");
            assertThat(spool.append(event(1))).as("refused appends issue no number").isEqualTo(1);
            assertThatThrownBy(() -> spool.read(0, 10, 0)).hasMessage("maxBytes: 0 must be at least 1");
        }
        assertThatThrownBy(() -> SpoolLimits.defaults().withMaxBytes(1 << 20))
                .hasMessage("maxBytes: 1048576 must be at least two segments (2 x segmentBytes = 8388608), so the oldest can be dropped while the newest is written");
        assertThatThrownBy(() -> SpoolLimits.defaults().withSegmentBytes(10)).hasMessageStartingWith("segmentBytes: 10 is too small");
        assertThatThrownBy(() -> SpoolLimits.defaults().withSync(0, Duration.ofMillis(1))).hasMessage("syncEveryRecords: 0 must be at least 1");
        assertThatThrownBy(() -> SpoolLimits.defaults().withSync(1, Duration.ZERO)).hasMessage("syncEvery: PT0S must be a positive duration");
        assertThatThrownBy(() -> SpoolLimits.defaults().withSequenceLease(0)).hasMessage("sequenceLease: 0 must be at least 1");
    }

    @Test
    void aClosedSpoolRefusesWork() throws IOException {
        Spool spool = open(small, BOOT);
        spool.close();
        assertThatThrownBy(() -> spool.append(event(1))).isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
    }

    @Test
    void framesCarryTheirChecksumOverLengthSeqAndPayload() {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        byte[] payload = "abc".getBytes(StandardCharsets.US_ASCII);
        SegmentFormat.frame(buffer, 42, payload, new java.util.zip.CRC32C());
        assertThat(buffer.position()).isEqualTo(SegmentFormat.FRAME_HEADER_BYTES + 3);
        assertThat(buffer.getInt(0)).isEqualTo(3);
        assertThat(buffer.getLong(8)).isEqualTo(42);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(buffer.array(), 0, 4);
        crc.update(buffer.array(), 8, 11);
        assertThat(buffer.getInt(4)).isEqualTo((int) crc.getValue());
    }

    private static void flip(Path file, long at) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x5a)).position(0);
            channel.write(one, at);
        }
    }
}
