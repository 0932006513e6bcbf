package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.database.Database;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link EventPartitions} (and the rollups' retention, {@link EventRollups#expire}) once at start (so ingest finds its partitions before the first batch)
 * and then every {@code clawfence.events.maintenance-interval}. Every replica runs it; the advisory
 * lock lets one do the work and the others skip.
 */
@Context
public final class EventMaintenance implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventMaintenance.class);

    private final Database database;
    private final EventsConfiguration config;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("event-partitions").daemon().factory());

    public EventMaintenance(Database database, EventsConfiguration config) {
        this.database = database;
        this.config = config;
        this.clock = Clock.systemUTC();
        maintain();
        long interval = config.maintenanceIntervalOrDefault().toMillis();
        timer.scheduleWithFixedDelay(this::maintainQuietly, interval, interval, TimeUnit.MILLISECONDS);
    }

    /** Creates and drops partitions now; returns what it did. */
    public EventPartitions.Maintenance maintain() {
        long[] expired = {0};
        EventPartitions.Maintenance done = database.asOwner(sql -> sql.connectionResult(connection -> {
            try {
                Instant now = clock.instant();
                EventPartitions.Maintenance partitions = EventPartitions.maintain(connection, now,
                        config.retentionDaysOrDefault(), config.daysAheadOrDefault());
                if (!partitions.skipped()) {
                    // Rollups follow the event retention, so a chart never counts events the list no longer has.
                    expired[0] = EventRollups.expire(connection,
                            EventPartitions.retainedFrom(now, config.retentionDaysOrDefault()));
                }
                return partitions;
            } catch (SQLException e) {
                throw new DataAccessException("cannot maintain the connection_events partitions and rollups", e);
            }
        }));
        if (!done.created().isEmpty() || !done.dropped().isEmpty() || expired[0] > 0) {
            LOG.info("Event partitions: created {}, dropped {}; rollup rows expired: {}", done.created(), done.dropped(),
                    expired[0]);
        }
        return done;
    }

    private void maintainQuietly() {
        try {
            maintain();
        } catch (RuntimeException e) {
            // The next run retries; ingest keeps working on the partitions created ahead.
            LOG.warn("Event partition maintenance failed; retrying in {}", config.maintenanceIntervalOrDefault(), e);
        }
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
