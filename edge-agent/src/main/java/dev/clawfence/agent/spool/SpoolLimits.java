package dev.clawfence.agent.spool;

import java.time.Duration;

/**
 * How big the spool may grow and how often it makes appended records durable.
 *
 * @param maxBytes         total size of all segment files; when an append would pass it, the oldest
 *                         segment is deleted (acknowledged or not) and its unacknowledged records counted
 * @param segmentBytes     size at which the spool starts a new segment file (the unit of deletion)
 * @param syncEveryRecords group commit: {@link Spool#append} fsyncs after this many unsynced records
 * @param syncEvery        group commit: {@link Spool#append} fsyncs when the oldest unsynced record is
 *                         this old (checked on append; an idle appender calls {@link Spool#sync()})
 * @param sequenceLease    sequence numbers reserved durably at a time (one small fsynced file write
 *                         per lease); after a host crash at most this many numbers are reported lost
 *                         without having been issued
 */
public record SpoolLimits(long maxBytes, int segmentBytes, int syncEveryRecords, Duration syncEvery, int sequenceLease) {

    public static final long DEFAULT_MAX_BYTES = 256L << 20;
    public static final int DEFAULT_SEGMENT_BYTES = 4 << 20;

    /** The largest payload a record may carry. */
    public static final int MAX_PAYLOAD = 1 << 20;

    public SpoolLimits {
        if (segmentBytes < SegmentFormat.HEADER_BYTES + SegmentFormat.FRAME_HEADER_BYTES + 64) {
            throw new IllegalArgumentException("segmentBytes: " + segmentBytes + " is too small (at least "
                    + (SegmentFormat.HEADER_BYTES + SegmentFormat.FRAME_HEADER_BYTES + 64) + " bytes)");
        }
        if (maxBytes < 2L * segmentBytes) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " must be at least two segments (2 x segmentBytes = "
                    + 2L * segmentBytes + "), so the oldest can be dropped while the newest is written");
        }
        if (syncEveryRecords < 1) {
            throw new IllegalArgumentException("syncEveryRecords: " + syncEveryRecords + " must be at least 1");
        }
        if (syncEvery == null || syncEvery.isNegative() || syncEvery.isZero()) {
            throw new IllegalArgumentException("syncEvery: " + syncEvery + " must be a positive duration");
        }
        if (sequenceLease < 1) {
            throw new IllegalArgumentException("sequenceLease: " + sequenceLease + " must be at least 1");
        }
    }

    /** 256 MiB in 4 MiB segments, fsync every 1,000 records or 100 ms, sequence numbers reserved 16,384 at a time. */
    public static SpoolLimits defaults() {
        return new SpoolLimits(DEFAULT_MAX_BYTES, DEFAULT_SEGMENT_BYTES, 1_000, Duration.ofMillis(100), 16_384);
    }

    public SpoolLimits withMaxBytes(long value) {
        return new SpoolLimits(value, segmentBytes, syncEveryRecords, syncEvery, sequenceLease);
    }

    public SpoolLimits withSegmentBytes(int value) {
        return new SpoolLimits(maxBytes, value, syncEveryRecords, syncEvery, sequenceLease);
    }

    public SpoolLimits withSync(int everyRecords, Duration every) {
        return new SpoolLimits(maxBytes, segmentBytes, everyRecords, every, sequenceLease);
    }

    public SpoolLimits withSequenceLease(int value) {
        return new SpoolLimits(maxBytes, segmentBytes, syncEveryRecords, syncEvery, value);
    }

    /** The largest payload that fits one segment. */
    int maxPayload() {
        return Math.min(MAX_PAYLOAD, segmentBytes - SegmentFormat.HEADER_BYTES - SegmentFormat.FRAME_HEADER_BYTES);
    }
}
