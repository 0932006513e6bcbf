package dev.clawfence.controlplane.events;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Rows in PostgreSQL's binary {@code COPY} format (header, tuples, trailer; see the COPY page of the
 * PostgreSQL manual), for the few column types events use. Written here because no maintained library
 * on the project's list does it (PgBulkInsert is not available); binary skips the server's text
 * parsing of timestamps and addresses, which is most of the cost of a text COPY. Public for the
 * ingest benchmark's reference COPY, which must encode the same rows the same way.
 */
public final class BinaryCopyRows {

    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
    /** PostgreSQL timestamps count microseconds from 2000-01-01T00:00Z. */
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    /** inet's binary family bytes: PGSQL_AF_INET is AF_INET (2), PGSQL_AF_INET6 is AF_INET + 1. */
    private static final byte FAMILY_INET = 2;
    private static final byte FAMILY_INET6 = 3;

    private byte[] buffer;
    private int length;

    public BinaryCopyRows(int expectedBytes) {
        buffer = new byte[Math.max(64, expectedBytes)];
        raw(SIGNATURE);
        int32(0); // flags: no OIDs
        int32(0); // header extension length
    }

    /** Starts a row of {@code fields} columns. */
    public void row(int fields) {
        int16(fields);
    }

    public void bigint(long value) {
        int32(8);
        int64(value);
    }

    public void integer(int value) {
        int32(4);
        int32(value);
    }

    public void smallint(int value) {
        int32(2);
        int16(value);
    }

    public void timestamptz(long epochMicros) {
        int32(8);
        int64(epochMicros - POSTGRES_EPOCH_MICROS);
    }

    public void text(String value) {
        // ASCII (every direction, verdict, reason and interface name, nearly every rule id) goes straight into
        // the buffer: encoding to a new array per value was a fifth of ingest's JVM time (BENCHMARKS.md
        // "Event ingest, fifth round").
        int n = value.length();
        ensure(4 + n);
        int start = length + 4;
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c >= 0x80) {
                byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
                int32(bytes.length);
                raw(bytes);
                return;
            }
            buffer[start + i] = (byte) c;
        }
        int32(n);
        length += n;
    }

    public void uuid(java.util.UUID value) {
        int32(16);
        int64(value.getMostSignificantBits());
        int64(value.getLeastSignificantBits());
    }

    /** A host address (4 or 16 bytes, network order) as {@code inet}. */
    public void inet(ByteString address) {
        int bytes = address.size();
        int32(4 + bytes);
        ensure(4 + bytes);
        buffer[length++] = bytes == 4 ? FAMILY_INET : FAMILY_INET6;
        buffer[length++] = (byte) (bytes * 8);
        buffer[length++] = 0; // not a cidr
        buffer[length++] = (byte) bytes;
        address.copyTo(buffer, length);
        length += bytes;
    }

    /** Ends the data; the bytes are complete after this. */
    public void finish() {
        int16(-1);
    }

    public byte[] buffer() {
        return buffer;
    }

    public int length() {
        return length;
    }

    private void raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buffer, length, bytes.length);
        length += bytes.length;
    }

    private void int16(int value) {
        ensure(2);
        buffer[length++] = (byte) (value >>> 8);
        buffer[length++] = (byte) value;
    }

    private void int32(int value) {
        ensure(4);
        buffer[length++] = (byte) (value >>> 24);
        buffer[length++] = (byte) (value >>> 16);
        buffer[length++] = (byte) (value >>> 8);
        buffer[length++] = (byte) value;
    }

    private void int64(long value) {
        int32((int) (value >>> 32));
        int32((int) value);
    }

    private void ensure(int more) {
        if (length + more > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
        }
    }
}
