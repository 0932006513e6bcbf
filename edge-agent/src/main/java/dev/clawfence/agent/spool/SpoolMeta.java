package dev.clawfence.agent.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The spool's small durable state, {@code spool.meta}: the highest sequence number that may have
 * been issued ({@code reservedThrough}), the acknowledged mark, the losses not yet acknowledged, the
 * lifetime count of dropped records, the boot it was written in and whether the spool was closed
 * cleanly. Replaced atomically (temporary file, fsync, rename, directory fsync), so a crash leaves
 * the old or the new version, and checked with a CRC32C on reading.
 */
record SpoolMeta(long reservedThrough, long ackedThrough, long totalDropped, String bootId, boolean clean, List<Loss> losses) {

    static final String FILE = "spool.meta";
    private static final int MAGIC = 0x4346534d; // "CFSM"
    private static final int VERSION = 1;

    SpoolMeta {
        losses = List.copyOf(losses);
    }

    /** The stored state, null when there is none; a damaged file is an {@link IOException} naming it. */
    static SpoolMeta read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, bytes.length - 4);
            if (bytes.length < 12 || buffer.getInt(0) != MAGIC || buffer.getInt(bytes.length - 4) != (int) crc.getValue()) {
                throw new IOException(file + " is damaged (bad magic or checksum, " + bytes.length + " bytes)");
            }
            buffer.position(4);
            int version = buffer.getInt();
            if (version != VERSION) {
                throw new IOException(file + " has format version " + version + "; this agent reads version " + VERSION);
            }
            long reserved = buffer.getLong();
            long acked = buffer.getLong();
            long dropped = buffer.getLong();
            boolean clean = buffer.get() != 0;
            byte[] boot = new byte[buffer.getShort()];
            buffer.get(boot);
            int count = buffer.getInt();
            List<Loss> losses = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                losses.add(new Loss(buffer.getLong(), buffer.getLong(), buffer.getLong(), Loss.Reason.values()[buffer.get()]));
            }
            return new SpoolMeta(reserved, acked, dropped, new String(boot, StandardCharsets.US_ASCII), clean, losses);
        } catch (RuntimeException e) {
            throw new IOException(file + " is damaged: " + e.getMessage(), e);
        }
    }

    void write(Path dir) throws IOException {
        byte[] boot = bootId.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocate(4 + 4 + 24 + 1 + 2 + boot.length + 4 + losses.size() * 25 + 4);
        buffer.putInt(MAGIC).putInt(VERSION).putLong(reservedThrough).putLong(ackedThrough).putLong(totalDropped)
                .put((byte) (clean ? 1 : 0)).putShort((short) boot.length).put(boot).putInt(losses.size());
        for (Loss loss : losses) {
            buffer.putLong(loss.firstSeq()).putLong(loss.lastSeq()).putLong(loss.count()).put((byte) loss.reason().ordinal());
        }
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, buffer.position());
        buffer.putInt((int) crc.getValue()).flip();
        Path temp = dir.resolve(FILE + ".tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(temp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(dir);
    }

    /** Makes creations, renames and deletions in {@code dir} durable. */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
