package dev.clawfence.agent.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * The bytes of a segment file. A 32-byte header: magic {@code CFSP}, format version, the first
 * sequence number, the last sequence number accounted for before this segment (so a later scan of a
 * damaged predecessor knows where that segment ended), and a CRC32C of those fields. Then records,
 * each framed as {@code [int length][int crc32c][long seq][payload]}, big-endian, the CRC32C covering
 * length, seq and payload, so a flipped bit anywhere in a record, or a record cut short, is detected.
 */
final class SegmentFormat {

    static final int MAGIC = 0x43465350; // "CFSP"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 32;
    static final int FRAME_HEADER_BYTES = 16;

    private SegmentFormat() {
    }

    /** The header of a segment, when it verifies. */
    record Header(long firstSeq, long prevLastSeq) {
    }

    static ByteBuffer header(long firstSeq, long prevLastSeq) {
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES);
        buffer.putInt(MAGIC).putInt(VERSION).putLong(firstSeq).putLong(prevLastSeq);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, 24);
        buffer.putInt((int) crc.getValue()).putInt(0);
        return buffer.flip();
    }

    /** The header at the start of {@code channel}, or null when it is missing, cut short or damaged. */
    static Header readHeader(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES);
        long position = 0;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, position);
            if (read < 0) {
                return null;
            }
            position += read;
        }
        buffer.flip();
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, 24);
        if (buffer.getInt(0) != MAGIC || buffer.getInt(4) != VERSION || buffer.getInt(24) != (int) crc.getValue()) {
            return null;
        }
        return new Header(buffer.getLong(8), buffer.getLong(16));
    }

    /** Writes one framed record into {@code target} (which must have room for {@code FRAME_HEADER_BYTES + payload.length}). */
    static void frame(ByteBuffer target, long seq, byte[] payload, CRC32C crc) {
        int start = target.position();
        target.putInt(payload.length).putInt(0).putLong(seq).put(payload);
        crc.reset();
        ByteBuffer view = target.duplicate();
        view.position(start).limit(start + 4);
        crc.update(view);
        view.limit(start + FRAME_HEADER_BYTES + payload.length).position(start + 8);
        crc.update(view);
        target.putInt(start + 4, (int) crc.getValue());
    }

    /**
     * Reads frames sequentially from a segment through a reusable buffer; every frame is checked
     * before it is handed out. Not thread-safe: each reader has its own.
     */
    static final class FrameReader {

        /** What {@link #next} found at the current position. */
        enum Result {
            /** A verified record: {@link #seq()}, {@link #payloadLength()}, {@link #copyPayload()}. */
            RECORD,
            /** The end of the readable range, exactly on a frame boundary. */
            END,
            /** Fewer bytes than a frame needs before the end: a record cut short. */
            SHORT,
            /** The length field is impossible: the rest of the segment cannot be framed. */
            BAD_LENGTH,
            /** The frame is complete but its checksum fails: {@link #frameBytes()} says how far to skip. */
            BAD_CHECKSUM
        }

        private final CRC32C crc = new CRC32C();
        private ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
        private long bufferStart;
        private FileChannel channel;
        private long position;
        private long limit;
        private long seq;
        private int payloadLength;
        private int payloadOffset;

        /** Starts reading {@code channel} at {@code position}, up to {@code limit} bytes. */
        void reset(FileChannel channel, long position, long limit) {
            this.channel = channel;
            this.position = position;
            this.limit = limit;
            this.bufferStart = 0;
            buffer.clear().limit(0);
        }

        long position() {
            return position;
        }

        long seq() {
            return seq;
        }

        int payloadLength() {
            return payloadLength;
        }

        int frameBytes() {
            return FRAME_HEADER_BYTES + payloadLength;
        }

        byte[] copyPayload() {
            byte[] payload = new byte[payloadLength];
            buffer.get(payloadOffset, payload);
            return payload;
        }

        /** Moves past the frame just returned (a record or a bad checksum). */
        void advance() {
            position += frameBytes();
        }

        /** Examines the frame at the current position. */
        Result next() throws IOException {
            if (position == limit) {
                return Result.END;
            }
            if (limit - position < FRAME_HEADER_BYTES) {
                return Result.SHORT;
            }
            fill(FRAME_HEADER_BYTES);
            int offset = (int) (position - bufferStart);
            int length = buffer.getInt(offset);
            if (length < 0 || length > SpoolLimits.MAX_PAYLOAD) {
                return Result.BAD_LENGTH;
            }
            if (limit - position < FRAME_HEADER_BYTES + (long) length) {
                // Either a torn write or a corrupted length; the caller decides by where it sits.
                return Result.SHORT;
            }
            fill(FRAME_HEADER_BYTES + length);
            offset = (int) (position - bufferStart);
            payloadLength = length;
            payloadOffset = offset + FRAME_HEADER_BYTES;
            seq = buffer.getLong(offset + 8);
            crc.reset();
            crc.update(buffer.array(), offset, 4);
            crc.update(buffer.array(), offset + 8, 8 + length);
            return buffer.getInt(offset + 4) == (int) crc.getValue() ? Result.RECORD : Result.BAD_CHECKSUM;
        }

        /** Makes {@code [position, position + bytes)} available in the buffer, reading ahead where it can. */
        private void fill(int bytes) throws IOException {
            if (position >= bufferStart && position + bytes <= bufferStart + buffer.limit()) {
                return;
            }
            if (buffer.capacity() < bytes) {
                buffer = ByteBuffer.allocate(Integer.highestOneBit(bytes) << 1);
            }
            buffer.clear();
            int want = (int) Math.min(buffer.capacity(), limit - position);
            buffer.limit(want);
            long at = position;
            while (buffer.position() < bytes) {
                int read = channel.read(buffer, at);
                if (read < 0) {
                    throw new IOException("segment ended at " + at + " while reading a frame that should end at " + (position + bytes));
                }
                at += read;
            }
            buffer.flip();
            bufferStart = position;
        }
    }
}
