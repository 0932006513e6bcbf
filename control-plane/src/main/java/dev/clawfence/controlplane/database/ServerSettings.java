package dev.clawfence.controlplane.database;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The server settings of the embedded PostgreSQL, in one place for the control plane
 * ({@link Database}) and the benchmarks that measure it. Durability stays on; the rest is sized for
 * event ingest (docs/operations.md, "Embedded PostgreSQL settings", says why each one and what it
 * bought).
 */
public final class ServerSettings {

    /** What {@code clawfence.database.shared-buffers} accepts besides {@code auto}: a PostgreSQL memory size. */
    public static final Pattern MEMORY = Pattern.compile("[1-9][0-9]{0,9}(kB|MB|GB|TB)");

    private static final long MIB = 1024L * 1024;
    private static final long MIN_SHARED_BUFFERS = 128 * MIB;
    private static final long MAX_SHARED_BUFFERS = 8192 * MIB;

    private ServerSettings() {}

    /**
     * zonky starts PostgreSQL as a throwaway test database ({@code -F}, i.e. fsync off, and
     * synchronous_commit off); the control plane keeps tenants' policies and events in it, so it must
     * be durable. A {@code -c} setting given after {@code -F} wins.
     */
    public static Map<String, String> durable() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("fsync", "on");
        settings.put("synchronous_commit", "on");
        settings.put("full_page_writes", "on");
        settings.put("listen_addresses", "localhost");
        return settings;
    }

    /**
     * The durable settings plus the ingest tuning, with {@code sharedBuffers} ({@code auto} or a memory
     * size such as {@code 512MB}) for the buffer cache.
     *
     * @throws IllegalArgumentException when {@code sharedBuffers} is neither, naming the property
     */
    public static Map<String, String> tuned(String sharedBuffers) {
        Map<String, String> settings = durable();
        long buffers = sharedBuffersBytes(sharedBuffers, physicalMemory());
        settings.put("shared_buffers", buffers / MIB + "MB");
        // The default (1/32 of shared_buffers, at most 16 MB) holds a few 5,000-event batches (~2.5 MB of WAL
        // each); more lets the WAL writer flush while backends keep inserting.
        settings.put("wal_buffers", Math.min(64, Math.max(4, buffers / MIB / 32)) + "MB");
        // A checkpoint during a load makes the next change of every page write a full-page image into
        // the WAL; with the 1 GB default a sustained load checkpointed about every million events. Recovery
        // after a crash replays at most this much WAL, which the control plane can afford.
        settings.put("max_wal_size", "8GB");
        settings.put("min_wal_size", "1GB");
        settings.put("checkpoint_timeout", "15min");
        return settings;
    }

    /** Gives a builder's server {@code settings} (as {@code -c} options). */
    public static EmbeddedPostgres.Builder apply(EmbeddedPostgres.Builder builder, Map<String, String> settings) {
        settings.forEach(builder::setServerConfig);
        return builder;
    }

    /**
     * {@code auto}: a quarter of the machine's memory (PostgreSQL's own advice for a dedicated server;
     * the control plane's JVM takes another quarter by default), at least 128 MB and at most 8 GB.
     */
    static long sharedBuffersBytes(String configured, long physicalMemory) {
        if (configured == null || configured.isBlank() || configured.equals("auto")) {
            return Math.clamp(physicalMemory / 4 / MIB * MIB, MIN_SHARED_BUFFERS, MAX_SHARED_BUFFERS);
        }
        if (!MEMORY.matcher(configured).matches()) {
            throw new IllegalArgumentException("clawfence.database.shared-buffers: \"" + configured
                    + "\" is not a memory size (auto, or a number with kB, MB, GB or TB, e.g. 512MB)");
        }
        long number = Long.parseLong(configured.substring(0, configured.length() - 2));
        long unit = switch (configured.substring(configured.length() - 2)) {
            case "kB" -> 1024L;
            case "MB" -> MIB;
            case "GB" -> 1024 * MIB;
            default -> 1024 * 1024 * MIB;
        };
        if (number > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("clawfence.database.shared-buffers: " + configured + " is larger than any machine");
        }
        long bytes = number * unit;
        if (bytes < MIN_SHARED_BUFFERS) {
            throw new IllegalArgumentException("clawfence.database.shared-buffers: " + configured
                    + " is below 128MB (the PostgreSQL default; smaller makes ingest write pages out twice)");
        }
        return bytes;
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return MIN_SHARED_BUFFERS * 4;
    }
}
