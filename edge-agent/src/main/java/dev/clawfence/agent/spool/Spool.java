package dev.clawfence.agent.spool;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A bounded on-disk queue of opaque records, each numbered with a sequence number that is strictly
 * increasing and never issued twice, not after a restart, a crash, a drop or corruption. Records stay
 * until an {@link #ack(long) ack} covers them; what is lost before that (the spool was full, a
 * record was corrupted, a crash tore the tail) is reported as a pending {@link Loss}, so every number
 * the control plane never receives is either in a loss or was never issued.
 *
 * <p>Files in the directory: {@code spool-<firstSeq>.seg} segments (see {@link SegmentFormat}) and
 * {@code spool.meta} (see {@link SpoolMeta}).
 *
 * <p>Durability is group commit: {@link #append} writes each record to the segment file at once
 * (so a killed process loses nothing it appended, the page cache keeps it) and, after
 * {@link SpoolLimits#syncEveryRecords()} records or when the oldest unsynced record is
 * {@link SpoolLimits#syncEvery()} old, asks the spool's own sync thread for an fsync, which runs
 * without holding up further appends (an fsync costs milliseconds, as much as thousands of appends).
 * The time rule is checked on append only, so an appender that goes idle calls {@link #sync()}, which
 * fsyncs before it returns. A host crash loses at most the records not yet synced, and they are
 * reported as {@link Loss.Reason#TORN_TAIL}; a failed background fsync is thrown by the next
 * {@code append} or {@code sync}.
 *
 * <p>Sequence numbers after a restart: every number issued is at most {@code reservedThrough}, which
 * is written durably before a number above it is issued (a lease of {@link SpoolLimits#sequenceLease()}
 * numbers). After a clean close, or after a process crash in the same boot (the page cache kept every
 * append) with an intact tail, numbering continues right after the last record on disk. Otherwise
 * numbering continues after {@code reservedThrough} and the numbers in between are reported as a
 * loss, because some of them may have been read and sent before the crash.
 *
 * <p>Thread safety: every method is safe to call from any thread; the intended use is one appending
 * thread (the event reader) and one uploading thread that reads and acknowledges. Methods hold one
 * lock, so a {@link #read} briefly delays an {@link #append}; readers see appended records at once,
 * before they are synced.
 */
public final class Spool implements Closeable {

    /** One record as read back. */
    public record Record(long seq, byte[] payload) {
    }

    /** Records in sequence order, each above the {@code afterSeq} asked for and above the acknowledged mark. */
    public record Batch(List<Record> records) {

        public Batch {
            records = List.copyOf(records);
        }

        /** The sequence number of the last record, or {@code afterSeq} when the batch is empty. */
        public long lastSeq(long afterSeq) {
            return records.isEmpty() ? afterSeq : records.getLast().seq();
        }
    }

    /**
     * A snapshot of the spool.
     *
     * @param bytesUsed      size of all segment files
     * @param recordsPending readable records above the acknowledged mark
     * @param totalDropped   records ever dropped because the spool was full (lifetime, survives restarts)
     * @param lastSeq        the last sequence number issued (0 when none)
     * @param syncedThrough  every record up to this number is fsynced
     * @param ackedThrough   the acknowledged mark
     * @param segments       number of segment files
     * @param pendingLosses  losses not yet acknowledged
     */
    public record Stats(long bytesUsed, long recordsPending, long totalDropped, long lastSeq, long syncedThrough,
            long ackedThrough, int segments, int pendingLosses) {
    }

    private static final Pattern SEGMENT_NAME = Pattern.compile("spool-(\\d{20})\\.seg");
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static final String UNKNOWN_BOOT = "unknown";

    /** One segment file; {@code lastSeq} is the last number the segment accounts for. */
    private static final class Segment {
        final Path path;
        final long firstSeq;
        long lastSeq;
        long size;
        long readableEnd;
        long records;
        FileChannel channel;

        Segment(Path path, long firstSeq) {
            this.path = path;
            this.firstSeq = firstSeq;
            this.lastSeq = firstSeq - 1;
        }
    }

    private final Path dir;
    private final SpoolLimits limits;
    private final Clock clock;
    private final String bootId;
    private final List<Segment> segments = new ArrayList<>();
    private final List<Loss> losses = new ArrayList<>();
    private final List<String> recovery = new ArrayList<>();
    private final CRC32C crc = new CRC32C();
    private final SegmentFormat.FrameReader reader = new SegmentFormat.FrameReader();
    private ByteBuffer frame = ByteBuffer.allocate(4 << 10);

    private Segment active;
    private long nextSeq;
    private long lastWritten;
    private long reservedThrough;
    private long ackedThrough;
    private long totalDropped;
    private long syncedThrough;
    private long bytesUsed;
    private int unsyncedRecords;
    private long firstUnsyncedAt;
    private Segment cursorSegment;
    private long cursorPosition;
    private long cursorSeq = -1;
    private boolean closed;
    private boolean syncQueued;
    private IOException syncFailure;
    private final ExecutorService syncer = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("clawfence-spool-sync").factory());
    private volatile Runnable appendListener = () -> { };

    private Spool(Path dir, SpoolLimits limits, Clock clock, String bootId) {
        this.dir = dir;
        this.limits = limits;
        this.clock = clock;
        this.bootId = bootId;
    }

    /** Opens the spool in {@code dir} (created if missing), recovering what a crash left behind. */
    public static Spool open(Path dir, SpoolLimits limits, Clock clock) throws IOException {
        return open(dir, limits, clock, currentBootId());
    }

    /** As {@link #open(Path, SpoolLimits, Clock)}, with the boot identity given (tests simulate host reboots). */
    static Spool open(Path dir, SpoolLimits limits, Clock clock, String bootId) throws IOException {
        Files.createDirectories(dir);
        Spool spool = new Spool(dir, limits, clock, bootId);
        spool.recover();
        return spool;
    }

    private static String currentBootId() {
        try {
            return Files.readString(BOOT_ID, StandardCharsets.US_ASCII).strip();
        } catch (IOException | RuntimeException e) {
            return UNKNOWN_BOOT;
        }
    }

    /**
     * What recovery at open found and did, one line each (torn tails truncated, corrupt records,
     * a damaged meta file), for the agent's log; empty after a clean close.
     */
    public synchronized List<String> recoveryNotes() {
        return List.copyOf(recovery);
    }

    /**
     * Appends one record and returns its sequence number; the record is readable at once and durable
     * after the next {@link #sync()} (which this call makes itself when the sync policy says so).
     */
    public synchronized long append(byte[] payload) throws IOException {
        return appendAll(java.util.Collections.singletonList(payload));
    }

    /**
     * Appends records as {@link #append} does, written with one system call where they fit one
     * segment (the NFLOG reader receives events in batches), and returns the sequence number of the
     * first; the others follow it one by one.
     */
    public synchronized long appendAll(List<byte[]> payloads) throws IOException {
        checkOpen();
        if (payloads.isEmpty()) {
            throw new IllegalArgumentException("payloads: must not be empty");
        }
        for (int i = 0; i < payloads.size(); i++) {
            byte[] payload = payloads.get(i);
            String name = payloads.size() == 1 ? "payload" : "payloads[" + i + "]";
            if (payload == null) {
                throw new IllegalArgumentException(name + ": must not be null");
            }
            if (payload.length > limits.maxPayload()) {
                throw new IllegalArgumentException(name + ": " + payload.length + " bytes is more than the "
                        + limits.maxPayload() + " bytes a record may carry");
            }
        }
        long first = nextSeq;
        frame.clear();
        try {
            frameAndWrite(payloads);
        } catch (IOException | RuntimeException e) {
            // Numbers of records that never reached the file were not issued: hand them out again.
            frame.clear();
            nextSeq = lastWritten + 1;
            throw e;
        }
        if (unsyncedRecords >= limits.syncEveryRecords() || clock.millis() - firstUnsyncedAt >= limits.syncEvery().toMillis()) {
            unsyncedRecords = 0;
            if (!syncQueued) {
                // One queued fsync at a time: appends during it are covered by the next one.
                syncQueued = true;
                syncer.execute(this::backgroundSync);
            }
        }
        appendListener.run();
        return first;
    }

    /**
     * Runs {@code listener} after every append, with the spool's lock held, so it must only signal
     * (e.g. unpark a thread): the uploader sleeps until records arrive instead of polling.
     */
    public void onAppend(Runnable listener) {
        this.appendListener = listener == null ? () -> { } : listener;
    }

    private void frameAndWrite(List<byte[]> payloads) throws IOException {
        for (byte[] payload : payloads) {
            int frameBytes = SegmentFormat.FRAME_HEADER_BYTES + payload.length;
            long seq = nextSeq;
            boolean roll = active == null || active.size + frame.position() + frameBytes > limits.segmentBytes();
            if (roll && active != null) {
                writeFrames();
                sealActive();
            }
            long need = frame.position() + frameBytes + (roll ? SegmentFormat.HEADER_BYTES : 0);
            while (bytesUsed + need > limits.maxBytes() && segments.size() > (active == null ? 0 : 1)) {
                dropOldest();
            }
            if (seq > reservedThrough) {
                // Durable before any record numbered above the old reservation reaches the file.
                reservedThrough = seq + limits.sequenceLease() - 1;
                writeMeta(false);
            }
            if (roll) {
                startSegment(seq);
            }
            if (frame.remaining() < frameBytes) {
                ByteBuffer bigger = ByteBuffer.allocate(Integer.highestOneBit(frame.position() + frameBytes) << 1);
                frame = bigger.put(frame.flip());
            }
            SegmentFormat.frame(frame, seq, payload, crc);
            nextSeq = seq + 1;
            if (unsyncedRecords++ == 0) {
                firstUnsyncedAt = clock.millis();
            }
        }
        writeFrames();
    }

    /** Writes the framed records collected in {@code frame} (all numbered up to {@code nextSeq - 1}) to the active segment. */
    private void writeFrames() throws IOException {
        frame.flip();
        if (!frame.hasRemaining()) {
            frame.clear();
            return;
        }
        long at = active.size;
        long records = nextSeq - 1 - active.lastSeq;
        while (frame.hasRemaining()) {
            at += active.channel.write(frame, at);
        }
        bytesUsed += at - active.size;
        active.size = at;
        active.readableEnd = at;
        active.lastSeq = nextSeq - 1;
        active.records += records;
        lastWritten = nextSeq - 1;
        frame.clear();
    }

    /** Makes every appended record durable (fsync of the segment being written) before it returns. */
    public synchronized void sync() throws IOException {
        checkOpen();
        if (active != null && syncedThrough < nextSeq - 1) {
            active.channel.force(false);
        }
        unsyncedRecords = 0;
        syncedThrough = nextSeq - 1;
    }

    /** The sync thread's work: fsync the segment being written, outside the lock so appends go on. */
    private void backgroundSync() {
        FileChannel channel;
        long through;
        synchronized (this) {
            syncQueued = false;
            if (closed || active == null) {
                return;
            }
            channel = active.channel;
            through = nextSeq - 1;
        }
        try {
            channel.force(false);
            synchronized (this) {
                syncedThrough = Math.max(syncedThrough, through);
            }
        } catch (ClosedChannelException e) {
            // The segment was sealed (sealing fsyncs it) and deleted, or the spool was released.
        } catch (IOException e) {
            synchronized (this) {
                syncFailure = e;
            }
        }
    }

    /**
     * Up to {@code maxRecords} records with sequence numbers above {@code afterSeq} (and above the
     * acknowledged mark), in order, together at most {@code maxBytes} of payload (but at least one
     * record when one is there). Corruption found while reading becomes a {@link Loss} and is skipped.
     */
    public synchronized Batch read(long afterSeq, int maxRecords, int maxBytes) throws IOException {
        checkOpen();
        if (maxRecords < 1) {
            throw new IllegalArgumentException("maxRecords: " + maxRecords + " must be at least 1");
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " must be at least 1");
        }
        long from = Math.max(afterSeq, ackedThrough) + 1;
        List<Record> out = new ArrayList<>(Math.min(maxRecords, 1024));
        long bytes = 0;
        for (Segment segment : List.copyOf(segments)) {
            if (segment.lastSeq < from || segment.readableEnd <= SegmentFormat.HEADER_BYTES) {
                continue;
            }
            boolean atCursor = segment == cursorSegment && cursorSeq == from - 1 && cursorPosition <= segment.readableEnd;
            long previous = atCursor ? from - 1 : segment.firstSeq - 1;
            reader.reset(segment.channel, atCursor ? cursorPosition : SegmentFormat.HEADER_BYTES, segment.readableEnd);
            scan:
            while (true) {
                switch (reader.next()) {
                    case RECORD -> {
                        long seq = reader.seq();
                        if (seq <= previous) {
                            unreadableRest(segment, previous + 1);
                            break scan;
                        }
                        if (seq > previous + 1 && seq - 1 >= from && addLoss(Math.max(previous + 1, from), seq - 1, Loss.Reason.CORRUPT) > 0) {
                            writeMeta(false);
                        }
                        if (seq >= from) {
                            if (!out.isEmpty() && (out.size() >= maxRecords || bytes + reader.payloadLength() > maxBytes)) {
                                return new Batch(out);
                            }
                            out.add(new Record(seq, reader.copyPayload()));
                            bytes += reader.payloadLength();
                            cursorSegment = segment;
                            cursorSeq = seq;
                            cursorPosition = reader.position() + reader.frameBytes();
                        }
                        previous = seq;
                        reader.advance();
                    }
                    case BAD_CHECKSUM -> {
                        previous++;
                        if (previous >= from && addLoss(previous, previous, Loss.Reason.CORRUPT) > 0) {
                            writeMeta(false);
                        }
                        reader.advance();
                    }
                    case SHORT, BAD_LENGTH -> {
                        unreadableRest(segment, previous + 1);
                        break scan;
                    }
                    case END -> {
                        break scan;
                    }
                }
            }
        }
        return new Batch(out);
    }

    /**
     * The control plane has durably stored everything through {@code throughSeq}: losses ending at or
     * before it are forgotten, and segments holding nothing above it are deleted. The mark is written
     * durably before any file is deleted or loss forgotten; an ack that does neither stays in memory
     * until the next write of the meta file, so after a crash a few acknowledged records may be read
     * again (the control plane stores each sequence number once).
     */
    public synchronized void ack(long throughSeq) throws IOException {
        checkOpen();
        if (throughSeq > nextSeq - 1) {
            throw new IllegalArgumentException("throughSeq: " + throughSeq + " is beyond the last issued sequence number " + (nextSeq - 1));
        }
        if (throughSeq <= ackedThrough) {
            return;
        }
        ackedThrough = throughSeq;
        boolean forgets = losses.removeIf(loss -> loss.lastSeq() <= throughSeq);
        boolean deletes = !segments.isEmpty() && segments.getFirst() != active && segments.getFirst().lastSeq <= throughSeq;
        if (forgets || deletes) {
            writeMeta(false);
        }
        while (!segments.isEmpty() && segments.getFirst() != active && segments.getFirst().lastSeq <= throughSeq) {
            delete(segments.removeFirst());
        }
    }

    /** The losses not yet acknowledged, oldest first. */
    public synchronized List<Loss> losses() {
        return List.copyOf(losses);
    }

    public synchronized Stats stats() {
        // Every number above the ack up to the last issued is readable or inside a pending loss (and
        // never both), so pending = that span minus what the losses cover; no file needs reading.
        long last = nextSeq - 1;
        long lost = 0;
        long coveredThrough = ackedThrough;
        for (Loss loss : losses) {
            long from = Math.max(loss.firstSeq(), coveredThrough + 1);
            long to = Math.min(loss.lastSeq(), last);
            if (from <= to) {
                lost += to - from + 1;
                coveredThrough = to;
            }
        }
        return new Stats(bytesUsed, Math.max(0, last - ackedThrough - lost), totalDropped, last, syncedThrough, ackedThrough,
                segments.size(), losses.size());
    }

    /** Syncs, records a clean close (so numbering continues without a gap) and releases the files. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            sync();
            reservedThrough = nextSeq - 1;
            writeMeta(true);
        } finally {
            abandon();
        }
    }

    /** Releases the files without syncing or writing anything: what a killed process leaves behind. */
    synchronized void abandon() throws IOException {
        closed = true;
        syncer.shutdownNow();
        for (Segment segment : segments) {
            if (segment.channel != null) {
                segment.channel.close();
            }
        }
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IllegalStateException("the spool in " + dir + " is closed");
        }
        if (syncFailure != null) {
            IOException failure = syncFailure;
            syncFailure = null;
            throw new IOException("an fsync of the spool in " + dir + " failed; records since the last sync may not be durable: "
                    + failure.getMessage(), failure);
        }
    }

    private void sealActive() throws IOException {
        if (syncedThrough < nextSeq - 1) {
            active.channel.force(false);
            unsyncedRecords = 0;
            syncedThrough = nextSeq - 1;
        }
        active = null;
    }

    private void startSegment(long firstSeq) throws IOException {
        long prevLast = segments.isEmpty() ? firstSeq - 1 : segments.getLast().lastSeq;
        Segment segment = new Segment(dir.resolve(String.format("spool-%020d.seg", firstSeq)), firstSeq);
        segment.channel = FileChannel.open(segment.path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        ByteBuffer header = SegmentFormat.header(firstSeq, prevLast);
        long at = 0;
        while (header.hasRemaining()) {
            at += segment.channel.write(header, at);
        }
        segment.size = at;
        segment.readableEnd = at;
        // The new file's directory entry must survive a host crash as surely as the records in it.
        segment.channel.force(true);
        SpoolMeta.syncDirectory(dir);
        segments.add(segment);
        bytesUsed += at;
        active = segment;
    }

    private void dropOldest() throws IOException {
        Segment oldest = segments.removeFirst();
        long dropped = addLoss(Math.max(oldest.firstSeq, ackedThrough + 1), oldest.lastSeq, Loss.Reason.FULL_DROPPED_OLDEST);
        totalDropped += dropped;
        writeMeta(false);
        delete(oldest);
    }

    private void delete(Segment segment) throws IOException {
        if (segment.channel != null) {
            segment.channel.close();
        }
        Files.deleteIfExists(segment.path);
        bytesUsed -= segment.size;
        if (segment == cursorSegment) {
            cursorSegment = null;
        }
    }

    /** The rest of {@code segment} from {@code firstUnreadable} cannot be framed: count it and stop reading there. */
    private void unreadableRest(Segment segment, long firstUnreadable) throws IOException {
        segment.readableEnd = reader.position();
        if (segment == active) {
            // Our own just-written bytes do not frame: the disk or memory is failing; write no more here.
            sealActive();
        }
        if (firstUnreadable <= segment.lastSeq && addLoss(firstUnreadable, segment.lastSeq, Loss.Reason.CORRUPT) > 0) {
            writeMeta(false);
        }
    }

    /**
     * Records a loss of the numbers in {@code first..last} above the acknowledged mark that no pending
     * loss covers yet, and returns how many that is (0 records nothing).
     */
    private long addLoss(long first, long last, Loss.Reason reason) {
        first = Math.max(first, ackedThrough + 1);
        if (first > last) {
            return 0;
        }
        List<long[]> covered = new ArrayList<>();
        for (Loss loss : losses) {
            long from = Math.max(first, loss.firstSeq());
            long to = Math.min(last, loss.lastSeq());
            if (from <= to) {
                covered.add(new long[] {from, to});
            }
        }
        covered.sort(Comparator.comparingLong(range -> range[0]));
        long coveredCount = 0;
        long coveredThrough = first - 1;
        for (long[] range : covered) {
            long from = Math.max(range[0], coveredThrough + 1);
            if (from <= range[1]) {
                coveredCount += range[1] - from + 1;
                coveredThrough = range[1];
            }
        }
        long count = last - first + 1 - coveredCount;
        if (count > 0) {
            losses.add(new Loss(first, last, count, reason));
            losses.sort(Comparator.comparingLong(Loss::firstSeq));
        }
        return count;
    }

    private void writeMeta(boolean clean) throws IOException {
        new SpoolMeta(reservedThrough, ackedThrough, totalDropped, bootId, clean, losses).write(dir);
    }

    // ---- recovery ----

    private void recover() throws IOException {
        SpoolMeta meta;
        try {
            meta = SpoolMeta.read(dir);
        } catch (IOException e) {
            meta = null;
            recovery.add(e.getMessage() + "; continuing after the highest sequence number on disk");
        }
        Files.deleteIfExists(dir.resolve(SpoolMeta.FILE + ".tmp"));
        if (meta != null) {
            ackedThrough = meta.ackedThrough();
            reservedThrough = meta.reservedThrough();
            totalDropped = meta.totalDropped();
            losses.addAll(meta.losses());
        }
        List<Segment> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path path : files.toList()) {
                Matcher name = SEGMENT_NAME.matcher(path.getFileName().toString());
                if (name.matches()) {
                    found.add(new Segment(path, Long.parseLong(name.group(1))));
                }
            }
        }
        found.sort(Comparator.comparingLong(segment -> segment.firstSeq));
        List<SegmentFormat.Header> headers = new ArrayList<>();
        for (Segment segment : found) {
            segment.channel = FileChannel.open(segment.path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            segment.size = segment.channel.size();
            SegmentFormat.Header header = SegmentFormat.readHeader(segment.channel);
            headers.add(header != null && header.firstSeq() == segment.firstSeq ? header : null);
        }
        List<Segment> unusable = new ArrayList<>();
        long accountedThrough = ackedThrough;
        long readableThrough = ackedThrough;
        Loss.Reason tailDamage = null;
        long tornBytes = 0;
        for (int i = 0; i < found.size(); i++) {
            Segment segment = found.get(i);
            boolean last = i == found.size() - 1;
            long end = last ? Long.MAX_VALUE
                    : headers.get(i + 1) != null ? headers.get(i + 1).prevLastSeq() : found.get(i + 1).firstSeq - 1;
            if (headers.get(i) == null && last && segment.size < SegmentFormat.HEADER_BYTES) {
                // Created but its header never fully written: it never held a record.
                unusable.add(segment);
                continue;
            }
            if (headers.get(i) == null) {
                recovery.add(segment.path.getFileName() + ": damaged header; its records are counted as lost");
                unusable.add(segment);
                if (last) {
                    tailDamage = Loss.Reason.CORRUPT;
                } else {
                    addLoss(segment.firstSeq, end, Loss.Reason.CORRUPT);
                    accountedThrough = Math.max(accountedThrough, end);
                }
                continue;
            }
            Loss.Reason damage = scan(segment, last, end);
            if (last && damage != null) {
                tailDamage = damage;
                tornBytes = segment.size - segment.readableEnd;
            }
            accountedThrough = Math.max(accountedThrough, segment.lastSeq);
            readableThrough = Math.max(readableThrough, segment.lastSeq);
            if (segment.records == 0 && last || segment.lastSeq <= ackedThrough) {
                unusable.add(segment);
            }
        }
        for (Loss loss : losses) {
            accountedThrough = Math.max(accountedThrough, loss.lastSeq());
        }
        boolean sameBoot = meta != null && !UNKNOWN_BOOT.equals(bootId) && bootId.equals(meta.bootId());
        boolean clean = meta != null && meta.clean();
        if (meta == null || (tailDamage == null && (clean || sameBoot))) {
            // Clean close, or only the process died: every append that returned is in the file.
            nextSeq = Math.max(accountedThrough, clean ? reservedThrough : 0) + 1;
        } else {
            nextSeq = Math.max(accountedThrough, reservedThrough) + 1;
            Loss.Reason reason = clean ? Loss.Reason.CORRUPT : tailDamage != null ? tailDamage : Loss.Reason.TORN_TAIL;
            // From the last readable record on: a pending loss may already cover part of it, addLoss counts the rest.
            long lost = addLoss(readableThrough + 1, nextSeq - 1, reason);
            if (lost > 0) {
                recovery.add("sequence numbers " + (readableThrough + 1) + ".." + (nextSeq - 1) + " may have been issued but are not on disk"
                        + (sameBoot ? "" : " (host restarted)") + (tornBytes > 0 ? "; " + tornBytes + " bytes of torn tail removed" : "")
                        + "; reported as " + reason);
            }
        }
        reservedThrough = nextSeq - 1;
        syncedThrough = nextSeq - 1;
        lastWritten = nextSeq - 1;
        writeMeta(false);
        // Only now that the losses are durable may the evidence go.
        for (Segment segment : found) {
            if (unusable.contains(segment)) {
                segment.channel.close();
                Files.deleteIfExists(segment.path);
                continue;
            }
            if (segment.readableEnd < segment.size) {
                segment.channel.truncate(segment.readableEnd);
                segment.channel.force(true);
                segment.size = segment.readableEnd;
            }
            segments.add(segment);
            bytesUsed += segment.size;
        }
        if (!unusable.isEmpty()) {
            SpoolMeta.syncDirectory(dir);
        }
    }

    /**
     * Reads every frame of {@code segment}, counting corrupted records as losses; {@code end} is the
     * last number the segment accounts for (unknown for the last segment). Returns how the tail of the
     * last segment is damaged, or null.
     */
    private Loss.Reason scan(Segment segment, boolean last, long end) throws IOException {
        reader.reset(segment.channel, SegmentFormat.HEADER_BYTES, segment.size);
        long previous = segment.firstSeq - 1;
        Loss.Reason damage = null;
        scan:
        while (true) {
            SegmentFormat.FrameReader.Result result = reader.next();
            switch (result) {
                case RECORD -> {
                    if (reader.seq() <= previous || reader.seq() > end) {
                        damage = Loss.Reason.CORRUPT;
                        break scan;
                    }
                    if (reader.seq() > previous + 1) {
                        addLoss(previous + 1, reader.seq() - 1, Loss.Reason.CORRUPT);
                    }
                    previous = reader.seq();
                    segment.records++;
                    reader.advance();
                }
                case BAD_CHECKSUM -> {
                    if (last && reader.position() + reader.frameBytes() == segment.size) {
                        // The final frame of the file: a write cut short looks exactly like this.
                        damage = Loss.Reason.TORN_TAIL;
                        break scan;
                    }
                    previous++;
                    addLoss(previous, previous, Loss.Reason.CORRUPT);
                    recovery.add(segment.path.getFileName() + ": record " + previous + " fails its checksum; counted as lost");
                    reader.advance();
                }
                case SHORT, BAD_LENGTH -> {
                    damage = last ? Loss.Reason.TORN_TAIL : Loss.Reason.CORRUPT;
                    break scan;
                }
                case END -> {
                    break scan;
                }
            }
        }
        segment.readableEnd = damage == null ? segment.size : reader.position();
        if (last) {
            segment.lastSeq = previous;
        } else {
            if (previous < end) {
                addLoss(previous + 1, end, Loss.Reason.CORRUPT);
                recovery.add(segment.path.getFileName() + ": records " + (previous + 1) + ".." + end + " unreadable; counted as lost");
            }
            segment.lastSeq = end;
        }
        return last ? damage : null;
    }
}
