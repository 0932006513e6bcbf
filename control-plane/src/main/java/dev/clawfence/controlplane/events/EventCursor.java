package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.ApiProblem;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.UUID;

/**
 * The position after the last event of a page, as the opaque {@code nextCursor} text: the keyset
 * (time, instance, sequence) of that event, the {@code from} bound the first page used (so later pages
 * do not slide with the clock), and the fingerprint of the tenant and filters it was issued for. A
 * cursor brought with other filters, to another tenant, or altered, is refused: it would silently skip
 * or repeat events otherwise.
 */
record EventCursor(long fromMicros, long timeMicros, UUID instance, long sequence) {

    private static final byte VERSION = 1;
    private static final int LENGTH = 1 + 16 + 8 + 8 + 16 + 8;

    String encode(byte[] fingerprint) {
        ByteBuffer buffer = ByteBuffer.allocate(LENGTH);
        buffer.put(VERSION).put(fingerprint).putLong(fromMicros).putLong(timeMicros)
                .putLong(instance.getMostSignificantBits()).putLong(instance.getLeastSignificantBits())
                .putLong(sequence);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(buffer.array());
    }

    /** Reads the cursor text, or throws a 400 problem on {@code cursor} saying what is wrong with it. */
    static EventCursor decode(String text, byte[] fingerprint) {
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            bytes = null;
        }
        if (bytes == null || bytes.length != LENGTH || bytes[0] != VERSION) {
            throw ApiProblem.badRequest("cursor", "is not a cursor from a previous page of this list");
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        buffer.get();
        byte[] issuedFor = new byte[16];
        buffer.get(issuedFor);
        if (!MessageDigest.isEqual(issuedFor, fingerprint)) {
            throw ApiProblem.badRequest("cursor", "was issued for other filters or another tenant: repeat the"
                    + " filters of the first page unchanged, or start again without a cursor");
        }
        long from = buffer.getLong();
        long time = buffer.getLong();
        UUID instance = new UUID(buffer.getLong(), buffer.getLong());
        long sequence = buffer.getLong();
        return new EventCursor(from, time, instance, sequence);
    }

    /** The {@code from} bound a cursor carries, read before the filters are (it is one of them). */
    static Long fromMicros(String text) {
        try {
            byte[] bytes = Base64.getUrlDecoder().decode(text);
            return bytes.length == LENGTH ? ByteBuffer.wrap(bytes, 17, 8).getLong() : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
