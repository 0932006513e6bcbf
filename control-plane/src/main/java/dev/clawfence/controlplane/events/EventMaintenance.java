package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.database.Database;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps event storage within the retention, once at start (so ingest finds its partitions before the
 * first batch) and then every {@code clawfence.events.maintenance-interval}:
 *
 * <ol>
 *   <li>{@link EventPartitions} keeps partitions for the longest retention in force (the platform
 *       default and every tenant's own figure) and drops older ones; rollup rows older than that go
 *       too ({@link EventRollups#expire}).
 *   <li>For each tenant with a shorter retention, its older events and rollup rows are deleted in
 *       batches of at most {@value #BATCH} rows, each batch its own short transaction (so ingest never
 *       waits long on them), as the owner role in that tenant's row-level-security context.
 * </ol>
 *
 * Every replica runs it; the advisory lock lets one do the work and the others skip. A change of a
 * tenant's retention asks for a run {@link #SOON} later ({@link #soon}).
 */
@Context
public final class EventMaintenance implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventMaintenance.class);
    /** Most rows one delete transaction removes. */
    static final int BATCH = 5_000;
    /** Delay of a run asked for by a retention change: a few changes in a row share one run. */
    static final Duration SOON = Duration.ofSeconds(5);

    private final Database database;
    private final EventsConfiguration config;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("event-partitions").daemon().factory());
    private final AtomicBoolean soonPending = new AtomicBoolean();
    private final AtomicBoolean timerRunning = new AtomicBoolean();
    private final AtomicLong runs = new AtomicLong();

    /** What one run did: the partition work, and the rows deleted for tenants below the longest retention. */
    public record Run(EventPartitions.Maintenance partitions, int longestRetentionDays, long rollupRowsExpired,
            long tenantEventsDeleted, long tenantRollupRowsDeleted) {}

    public EventMaintenance(Database database, EventsConfiguration config) {
        this.database = database;
        this.config = config;
        this.clock = Clock.systemUTC();
        maintain();
        long interval = config.maintenanceIntervalOrDefault().toMillis();
        timer.scheduleWithFixedDelay(this::maintainQuietly, interval, interval, TimeUnit.MILLISECONDS);
    }

    /** Runs maintenance now; returns what it did. */
    public Run maintain() {
        Instant now = clock.instant();
        Plan plan = database.asOwner(sql -> sql.connectionResult(connection -> {
            try {
                return partitions(connection, now);
            } catch (SQLException e) {
                throw new DataAccessException("cannot maintain the connection_events partitions and rollups", e);
            }
        }));
        long events = 0;
        long rollups = 0;
        if (!plan.partitions().skipped()) {
            for (Map.Entry<UUID, Integer> tenant : plan.shorter().entrySet()) {
                Instant retainedFrom = EventPartitions.retainedFrom(now, tenant.getValue());
                events += deleteEvents(tenant.getKey(), retainedFrom);
                rollups += deleteRollups(tenant.getKey(), retainedFrom);
            }
        }
        runs.incrementAndGet();
        EventPartitions.Maintenance done = plan.partitions();
        if (!done.created().isEmpty() || !done.dropped().isEmpty() || plan.expired() > 0 || events > 0 || rollups > 0) {
            LOG.info("Event partitions (longest retention {} days): created {}, dropped {}; rollup rows expired: {};"
                    + " below their tenant's retention: {} events and {} rollup rows deleted", plan.longest(),
                    done.created(), done.dropped(), plan.expired(), events, rollups);
        }
        return new Run(done, plan.longest(), plan.expired(), events, rollups);
    }

    /**
     * Asks for a run {@link #SOON} from now on this replica (a tenant's retention changed); requests
     * while one is pending share it.
     */
    public void soon() {
        if (soonPending.compareAndSet(false, true)) {
            timer.schedule(() -> {
                timerRunning.set(true);
                // Cleared before the run reads the figures, so a change made during the run asks for another.
                soonPending.set(false);
                maintainQuietly();
            }, SOON.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Runs completed on this replica since start (tests wait on it). */
    long runs() {
        return runs.get();
    }

    /** Whether a run asked for by {@link #soon} or the timer is waiting or under way (tests wait on it). */
    boolean pending() {
        return soonPending.get() || timerRunning.get();
    }

    private record Plan(EventPartitions.Maintenance partitions, int longest, long expired, Map<UUID, Integer> shorter) {}

    /** The partition and cross-tenant rollup work, in one owner transaction under the advisory lock. */
    private Plan partitions(Connection owner, Instant now) throws SQLException {
        try (Statement s = owner.createStatement()) {
            // The owner's only view of every tenant's figure, and its licence to expire rollup rows.
            s.execute("set local clawfence.maintenance = 'expiry'");
        }
        Map<UUID, Integer> own = EventRetention.all(owner);
        int longest = Math.max(config.retentionDaysOrDefault(),
                own.values().stream().mapToInt(Integer::intValue).max().orElse(0));
        EventPartitions.Maintenance partitions = EventPartitions.maintain(owner, now, longest, config.daysAheadOrDefault());
        if (partitions.skipped()) {
            return new Plan(partitions, longest, 0, Map.of());
        }
        // Rollups follow the event retention, so a chart never counts events the list no longer has.
        long expired = EventRollups.expire(owner, EventPartitions.retainedFrom(now, longest));
        Map<UUID, Integer> shorter = new HashMap<>();
        own.forEach((tenant, days) -> {
            if (days < longest) {
                shorter.put(tenant, days);
            }
        });
        if (config.retentionDaysOrDefault() < longest) {
            // Tenants without a figure keep the default, which is now shorter than the partitions.
            try (PreparedStatement s = owner.prepareStatement("select id from tenants")) {
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        UUID tenant = rs.getObject(1, UUID.class);
                        if (!own.containsKey(tenant)) {
                            shorter.put(tenant, config.retentionDaysOrDefault());
                        }
                    }
                }
            }
        }
        return new Plan(partitions, longest, expired, shorter);
    }

    /**
     * Deletes the tenant's events before {@code retainedFrom}, a day partition at a time, at most
     * {@value #BATCH} rows per transaction; returns the count.
     */
    private long deleteEvents(UUID tenant, Instant retainedFrom) {
        long deleted = 0;
        while (true) {
            OffsetDateTime oldest = asOwnerIn(tenant, connection -> {
                try (PreparedStatement s = connection.prepareStatement(
                        "select min(time) from connection_events where tenant_id = ? and time < ?")) {
                    s.setObject(1, tenant);
                    s.setObject(2, at(retainedFrom));
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        return rs.getObject(1, OffsetDateTime.class);
                    }
                }
            });
            if (oldest == null) {
                return deleted;
            }
            String partition = EventPartitions.partitionName(oldest.atZoneSameInstant(ZoneOffset.UTC).toLocalDate());
            long inDay = 0;
            int n;
            do {
                // One day partition at a time (wholly before the retention, which starts at a day boundary):
                // there a ctid names one row, and a bare ctid list is a TID scan, however stale the statistics.
                n = asOwnerIn(tenant, connection -> {
                    try (PreparedStatement s = connection.prepareStatement("delete from " + partition
                            + " where ctid = any(array(select ctid from " + partition + " where tenant_id = ? limit ?))")) {
                        s.setObject(1, tenant);
                        s.setInt(2, BATCH);
                        return s.executeUpdate();
                    }
                });
                inDay += n;
            } while (n == BATCH);
            if (inDay == 0) {
                // Nothing deletable although min(time) found a row: stop rather than loop; the next run retries.
                LOG.warn("Event retention: tenant {} has events from {} that could not be deleted", tenant, oldest);
                return deleted;
            }
            deleted += inDay;
        }
    }

    /** Deletes the tenant's rollup rows whose bucket starts before {@code retainedFrom}, in batches; returns the count. */
    private long deleteRollups(UUID tenant, Instant retainedFrom) {
        long deleted = 0;
        for (String[] table : EventRollups.TABLES) {
            Object bound = table[1].equals("day") ? retainedFrom.atOffset(ZoneOffset.UTC).toLocalDate() : at(retainedFrom);
            int n;
            do {
                n = asOwnerIn(tenant, connection -> {
                    try (PreparedStatement s = connection.prepareStatement("delete from " + table[0]
                            + " where ctid = any(array(select ctid from " + table[0] + " where tenant_id = ? and "
                            + table[1] + " < ? limit ?))")) {
                        s.setObject(1, tenant);
                        s.setObject(2, bound);
                        s.setInt(3, BATCH);
                        return s.executeUpdate();
                    }
                });
                deleted += n;
            } while (n == BATCH);
        }
        return deleted;
    }

    private interface OwnerWork<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * One short owner transaction in {@code tenant}'s row-level-security context: the tenant policy
     * holds for the owner too (forced), so these deletes cannot reach another tenant's rows.
     */
    private <T> T asOwnerIn(UUID tenant, OwnerWork<T> work) {
        return database.asOwner(sql -> sql.connectionResult(connection -> {
            try {
                try (PreparedStatement s = connection.prepareStatement("select set_config('clawfence.tenant_id', ?, true)")) {
                    s.setString(1, tenant.toString());
                    s.execute();
                }
                return work.run(connection);
            } catch (SQLException e) {
                throw new DataAccessException("cannot delete the expired events of tenant " + tenant, e);
            }
        }));
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    private void maintainQuietly() {
        timerRunning.set(true);
        try {
            maintain();
        } catch (RuntimeException e) {
            // The next run retries; ingest keeps working on the partitions created ahead.
            LOG.warn("Event maintenance failed; retrying in {}", config.maintenanceIntervalOrDefault(), e);
        } finally {
            timerRunning.set(false);
        }
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
