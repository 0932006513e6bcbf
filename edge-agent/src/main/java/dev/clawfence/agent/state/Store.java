package dev.clawfence.agent.state;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.clawfence.agent.sync.Identity;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The state directory: {@code policy.bin} holds the last applied (and confirmed) policy version as a
 * complete {@code PolicyUpdate} (every set inline, the steps of its expiry schedule still to come
 * included, so that a restart while offline can take the steps that came due meanwhile); {@code sets/<hash>.bin} holds each set the agent has
 * received, by content hash. Every file is {@code CFS1} + the SHA-256 of the payload + the payload
 * (protobuf bytes), written to a temporary file, fsynced, renamed over the old one, and the directory
 * fsynced, so a reader sees the old or the new file, never a mix; files are mode 0600.
 * {@code identity.bin} holds the enrolment identity (private key and certificate chain). A file that is missing reads as
 * empty; one that is truncated or damaged reads as empty with a {@link Load#problem() problem} saying
 * which file and why, so the agent starts without it instead of crashing.
 */
public final class Store {

    /** A value read from disk, or none; {@code problem} says why a file that exists could not be used. */
    public record Load<T>(Optional<T> value, String problem) {

        static <T> Load<T> of(T value) {
            return new Load<>(Optional.of(value), null);
        }

        static <T> Load<T> missing() {
            return new Load<>(Optional.empty(), null);
        }

        static <T> Load<T> damaged(String problem) {
            return new Load<>(Optional.empty(), problem);
        }
    }

    private static final byte[] MAGIC = "CFS1".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 32;
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    private final Path dir;
    private final Path sets;

    /** Opens (and creates, mode 0700) the state directory {@code dir}. */
    public Store(Path dir) throws IOException {
        this.dir = dir;
        this.sets = dir.resolve("sets");
        for (Path path : new Path[] {dir, sets}) {
            if (!Files.isDirectory(path)) {
                Files.createDirectories(path);
                try {
                    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException e) {
                    // not a POSIX file system; nothing to tighten
                }
            }
        }
    }

    public Path directory() {
        return dir;
    }

    /** The last applied policy version, complete. */
    public Load<PolicyUpdate> lastApplied() {
        Path file = dir.resolve("policy.bin");
        Load<byte[]> payload = read(file);
        if (payload.value().isEmpty()) {
            return Load.damaged(payload.problem());
        }
        try {
            return Load.of(PolicyUpdate.parseFrom(payload.value().get()));
        } catch (InvalidProtocolBufferException e) {
            return Load.damaged(file + " is not a policy update: " + e.getMessage());
        }
    }

    /** Stores {@code complete} (every set inline) as the last applied version, and each of its sets. */
    public void saveApplied(PolicyUpdate complete) throws IOException {
        for (CompiledSet set : complete.getSetsList()) {
            saveSet(set);
        }
        write(dir.resolve("policy.bin"), complete.toByteArray());
    }

    /** Stores one set under its hash (content-addressed: an existing file is left alone). */
    public void saveSet(CompiledSet set) throws IOException {
        if (!HASH.matcher(set.getHash()).matches()) {
            throw new IOException("set " + set.getName() + " has no valid hash; not stored");
        }
        Path file = sets.resolve(set.getHash() + ".bin");
        if (!Files.exists(file) || set(set.getHash()).value().isEmpty()) {
            write(file, set.toByteArray());
        }
    }

    /** The set with content hash {@code hash}, when held (and intact). */
    public Load<CompiledSet> set(String hash) {
        if (!HASH.matcher(hash).matches()) {
            return Load.missing();
        }
        Path file = sets.resolve(hash + ".bin");
        Load<byte[]> payload = read(file);
        if (payload.value().isEmpty()) {
            return Load.damaged(payload.problem());
        }
        try {
            CompiledSet set = CompiledSet.parseFrom(payload.value().get());
            if (!set.getHash().equals(hash)) {
                return Load.damaged(file + " holds set " + set.getHash() + ", not " + hash);
            }
            return Load.of(set);
        } catch (InvalidProtocolBufferException e) {
            return Load.damaged(file + " is not a set: " + e.getMessage());
        }
    }

    /** The enrolment identity (key and certificates), when enrolled. */
    public Load<Identity> identity() {
        Path file = dir.resolve("identity.bin");
        Load<byte[]> payload = read(file);
        if (payload.value().isEmpty()) {
            return Load.damaged(payload.problem());
        }
        try {
            return Load.of(Identity.decode(payload.value().get()));
        } catch (IllegalArgumentException e) {
            return Load.damaged(file + " is not an identity: " + e.getMessage());
        }
    }

    /** Stores the enrolment identity; the file holds the private key, so only root may read it (0600). */
    public void saveIdentity(Identity identity) throws IOException {
        write(dir.resolve("identity.bin"), identity.encode());
    }

    /** The hashes of the sets held, for the hello message. */
    public Set<String> knownSetHashes() throws IOException {
        Set<String> hashes = new TreeSet<>();
        try (Stream<Path> files = Files.list(sets)) {
            files.map(file -> file.getFileName().toString())
                    .filter(name -> name.endsWith(".bin"))
                    .map(name -> name.substring(0, name.length() - 4))
                    .filter(name -> HASH.matcher(name).matches())
                    .forEach(hashes::add);
        }
        return hashes;
    }

    /** Reads and checks one file; missing is not a problem, damage is. */
    static Load<byte[]> read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Load.missing();
        } catch (IOException e) {
            return Load.damaged("cannot read " + file + ": " + e.getMessage());
        }
        if (bytes.length < HEADER || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return Load.damaged(file + " is damaged: no CFS1 header (" + bytes.length + " bytes)");
        }
        byte[] payload = Arrays.copyOfRange(bytes, HEADER, bytes.length);
        if (!Arrays.equals(sha256(payload), 0, 32, bytes, MAGIC.length, HEADER)) {
            return Load.damaged(file + " is damaged: its checksum does not match (truncated or overwritten?)");
        }
        return Load.of(payload);
    }

    /** Writes {@code payload} to {@code file} atomically and durably. */
    static void write(Path file, byte[] payload) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        try (FileChannel channel = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer buffer = ByteBuffer.allocate(HEADER + payload.length).put(MAGIC).put(sha256(payload)).put(payload).flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw new IOException("the state directory does not support atomic renames: " + file.getParent(), e);
        }
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private static byte[] sha256(byte[] payload) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(payload);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
