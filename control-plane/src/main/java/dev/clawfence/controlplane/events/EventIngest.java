package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.proto.agent.v1.EventBatch;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's entry to event storage: one batch of one agent's events, stored exactly once in
 * one transaction of its tenant (see {@link EventStore}). The upload RPC calls this after it has
 * authenticated the agent, so tenant and instance come from the agent's certificate.
 *
 * <p>The batches' rollups wait in memory ({@link PendingRollups}) for up to
 * {@code clawfence.events.rollup-interval}; a timer writes those of instances that sent nothing since, and
 * every {@value #SWEEP_SECONDS} s the sweep adds up what replicas that died held (instances whose rollups
 * lag their stored events and that have sent nothing for a while).
 */
@Context
public final class EventIngest implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventIngest.class);
    static final int SWEEP_SECONDS = 30;
    private static final Duration SHUTDOWN_WRITE = Duration.ofSeconds(5);

    private final TenantAccess access;
    private final Database database;
    private final EventStore store;
    private final PendingRollups pending;
    private final Duration orphanedAfter;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("rollup-writer").daemon().factory());

    public EventIngest(TenantAccess access, Database database, EventsConfiguration config) {
        this.access = access;
        this.database = database;
        this.store = new EventStore(Clock.systemUTC(), config.retentionDaysOrDefault(), config.futureToleranceOrDefault());
        Duration interval = config.rollupIntervalOrDefault();
        this.pending = new PendingRollups(interval);
        // A live replica writes an idle instance's rollups within the interval and a tick; only rows that
        // waited much longer are a dead replica's (and if the sweep races a live one, the mark row decides).
        this.orphanedAfter = interval.multipliedBy(3).plusSeconds(10);
        long tick = Math.clamp(interval.toMillis() / 4, 100, 1000);
        timer.scheduleWithFixedDelay(() -> quietly("write the due event rollups", () -> writeRollups(false)),
                tick, tick, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(() -> quietly("sweep the event rollups", this::sweep),
                1, SWEEP_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * Stores {@code batch} for {@code instance} of {@code tenant} and returns the new mark.
     *
     * @throws InvalidEventBatchException when the batch breaks the contract (nothing stored)
     * @throws IllegalArgumentException when the instance is not the tenant's
     */
    public IngestResult ingest(UUID tenant, UUID instance, EventBatch batch) {
        try (PendingRollups.Pending rollups = pending.open(tenant, instance)) {
            IngestResult result = access.system(tenant, Caller.agent(tenant, instance, null), tx -> tx.sql().connectionResult(connection -> {
                try {
                    IngestResult stored = store.ingest(connection, tenant, instance, batch, rollups);
                    if (stored.stored() > 0) {
                        // Live stream: log the batch and notify, both taking effect at commit.
                        EventLiveStream.recordBatch(connection, tenant, instance);
                    }
                    return stored;
                } catch (SQLException e) {
                    throw new DataAccessException("cannot store the event batch of instance " + instance, e);
                }
            }));
            rollups.committed();
            return result;
        }
    }

    /**
     * Writes the rollups held in memory: those that waited the interval, or with {@code all} every one
     * (tests, and shutdown). Returns the instances written.
     */
    public int writeRollups(boolean all) {
        int written = 0;
        for (PendingRollups.Pending held : pending.takeDue(all)) {
            try (held) {
                write(held);
                written++;
            } catch (RuntimeException e) {
                // Stays stored as events above rolled_up_through: the instance's next batch or the sweep adds it up.
                LOG.warn("Cannot write the event rollups of instance {}; they will be added up again from the stored events",
                        held.instance(), e);
            }
        }
        return written;
    }

    /**
     * Adds up the stored events of instances whose rollups lag and that sent nothing for a while: what a
     * replica that died held in memory. Returns the instances brought up to date.
     */
    public int sweep() {
        List<Lagging> lagging = database.asOwner(sql -> sql.connectionResult(connection -> {
            try (Statement s = connection.createStatement()) {
                // V016's sweep policy shows the owner every tenant's marks only with this set.
                s.execute("set local clawfence.maintenance = 'rollup-sweep'");
            } catch (SQLException e) {
                throw new DataAccessException("cannot sweep the event rollups", e);
            }
            return laggingMarks(connection);
        }));
        int swept = 0;
        for (Lagging l : lagging) {
            try (PendingRollups.Pending held = pending.open(l.tenant(), l.instance())) {
                write(held);
                swept++;
            }
        }
        if (swept > 0) {
            LOG.info("Added up the events of {} instances whose rollups lagged (held by a control plane that stopped)", swept);
        }
        return swept;
    }

    private record Lagging(UUID tenant, UUID instance) {}

    private List<Lagging> laggingMarks(Connection connection) {
        try (PreparedStatement s = connection.prepareStatement("""
                select tenant_id, instance_id from event_ingest_marks
                 where rolled_up_through < stored_through and updated_at < now() - ? * interval '1 millisecond'""")) {
            s.setLong(1, orphanedAfter.toMillis());
            List<Lagging> rows = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Lagging(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class)));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new DataAccessException("cannot find the instances whose event rollups lag", e);
        }
    }

    private void write(PendingRollups.Pending held) {
        access.system(held.tenant(), Caller.system(), tx -> tx.sql().connectionResult(connection -> {
            try {
                return store.writeRollups(connection, held);
            } catch (SQLException e) {
                throw new DataAccessException("cannot write the event rollups of instance " + held.instance(), e);
            }
        }));
        held.committed();
    }

    private static void quietly(String what, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("Cannot {}; trying again at the next tick", what, e);
        }
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
        // What is still held would otherwise wait for another replica's sweep or the next start. Bounded: at
        // shutdown the database may be going away too (an embedded one stops in a shutdown hook of its own).
        Thread last = Thread.ofPlatform().name("rollup-writer-shutdown").daemon().start(() -> quietly(
                "write the event rollups held at shutdown (the sweep adds them up from the stored events)",
                () -> writeRollups(true)));
        try {
            if (!last.join(SHUTDOWN_WRITE)) {
                LOG.warn("Gave up writing the event rollups held at shutdown after {}; the sweep adds them up from the stored events",
                        SHUTDOWN_WRITE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
