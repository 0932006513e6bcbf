package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.database.Database;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link EventRollups#compact} every {@code clawfence.events.rollup-compaction-interval} (default
 * 1 minute), so the rows that each rollup write appends are merged into one per key soon after. Every
 * replica runs it; the advisory lock lets one do the work and the others skip. Reports are right with
 * or without it; it keeps them fast.
 */
@Context
public final class RollupCompaction implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RollupCompaction.class);
    /**
     * Batches are found by their transaction's start time ({@code created_at = now()}), which precedes
     * their commit: looking back this far past the previous run catches every batch that committed after
     * it, unless one ingest transaction ran longer (its rows then wait for no one: reports still add them).
     */
    static final Duration OVERLAP = Duration.ofMinutes(10);

    private final Database database;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("rollup-compaction").daemon().factory());
    /** The database time the previous run started at; at first, as far back as the batch log keeps. */
    private Instant since = null;

    public RollupCompaction(Database database,
            @Value("${clawfence.events.rollup-compaction-interval:1m}") Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("clawfence.events.rollup-compaction-interval: " + interval + " must be positive");
        }
        this.database = database;
        timer.scheduleWithFixedDelay(this::compactQuietly, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Merges the rows of the buckets touched since the previous run (or the batch log's whole span, at first). */
    public synchronized EventRollups.Compaction compact() {
        Instant[] started = new Instant[1];
        EventRollups.Compaction done = database.asOwner(sql -> sql.connectionResult(connection -> {
            try {
                try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("select now()")) {
                    rs.next();
                    started[0] = rs.getTimestamp(1).toInstant();
                }
                Instant from = since == null ? started[0].minus(EventLiveStream.KEPT) : since.minus(OVERLAP);
                return EventRollups.compact(connection, from);
            } catch (SQLException e) {
                throw new DataAccessException("cannot compact the event rollups", e);
            }
        }));
        if (!done.skipped()) {
            since = started[0];
        }
        if (done.rowsBefore() > done.rowsAfter()) {
            LOG.debug("Rollup compaction: {} tenants, {} rows merged into {}", done.tenants(), done.rowsBefore(), done.rowsAfter());
        }
        return done;
    }

    private void compactQuietly() {
        try {
            compact();
        } catch (RuntimeException e) {
            // Reports stay right on uncompacted rows; the next run looks back to the last one that worked.
            LOG.warn("Rollup compaction failed; retrying at the next interval", e);
        }
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
