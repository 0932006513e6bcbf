package dev.clawfence.controlplane.events;

import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import dev.clawfence.proto.agent.v1.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Stores an instance's event batches exactly once per (instance, sequence), on a connection that is
 * inside a transaction of the app role with the tenant's row-level-security context; the caller
 * commits. The instance's mark row is locked first, so batches of one instance (retries racing on two
 * replicas included) are serialised and each sequence is written once.
 *
 * <p>PostgreSQL refuses {@code COPY FROM} into a table with row-level security (even forced for its
 * owner), so rows go by binary COPY into a session-local temporary stage and from there by one
 * {@code INSERT … SELECT} into {@code connection_events}, where the tenant policy checks them. The
 * stored events are then added to the instance's rollups held in memory ({@link PendingRollups}), which
 * a transaction writes every few seconds together with {@code rolled_up_through} on the mark row, so
 * charts and flags count every stored event once, retries and crashes included.
 */
public final class EventStore {

    static final String STAGE = "connection_events_stage";

    private static final String CREATE_STAGE = """
            set local client_min_messages = warning;
            create temporary table if not exists connection_events_stage (
              sequence bigint, time timestamptz, direction text, verdict text, ip_protocol smallint,
              source_address inet, source_port integer, destination_address inet, destination_port integer,
              rule_id text, reason text, interface text
            ) on commit delete rows""";
    private static final String COPY_STAGE = "copy connection_events_stage from stdin (format binary)";
    private static final String MOVE_STAGE = """
            insert into connection_events (tenant_id, instance_id, sequence, time, direction, verdict, ip_protocol,
                                           source_address, source_port, destination_address, destination_port,
                                           rule_id, reason, interface)
            select ?, ?, sequence, time, direction, verdict, ip_protocol, source_address, source_port,
                   destination_address, destination_port, rule_id, reason, interface
              from connection_events_stage""";
    private static final int FIELDS = 12;

    private final Clock clock;
    private final int retentionDays;
    private final Duration futureTolerance;

    /**
     * @param retentionDays the retention of tenants without their own ({@link EventRetention}): events
     *     older than the start of the UTC day the tenant's retention ago are counted as expired instead
     *     of stored
     * @param futureTolerance how far ahead of the clock an event's time may lie before it is clamped
     *     to the receive time; must be shorter than the partitions created ahead
     */
    public EventStore(Clock clock, int retentionDays, Duration futureTolerance) {
        this.clock = clock;
        this.retentionDays = retentionDays;
        this.futureTolerance = futureTolerance;
    }

    /**
     * Stores the events of {@code batch} above the instance's mark, records its losses, and advances
     * the mark, all in the caller's transaction. The stored events are added to {@code pending} (the
     * instance's, locked by the caller, who calls {@link PendingRollups.Pending#committed} after the
     * commit), whose rollups this transaction writes when they are due; {@code null} keeps no rollups
     * (only to measure what they cost).
     *
     * @throws InvalidEventBatchException when the batch breaks the contract (nothing is written)
     * @throws IllegalArgumentException when {@code instance} is not an instance of {@code tenant}
     */
    public IngestResult ingest(Connection connection, UUID tenant, UUID instance, EventBatch batch,
            PendingRollups.Pending pending) throws SQLException {
        EventBatchCheck.check(batch);
        Instant now = clock.instant();
        // The tenant's own retention, when it has one: an event older than that is expired, not stored.
        long oldestMicros = micros(EventPartitions.retainedFrom(now, EventRetention.days(connection, tenant, retentionDays)));
        long latestMicros = micros(now.plus(futureTolerance));
        long nowMicros = micros(now);

        Mark locked = lockMark(connection, tenant, instance);
        long mark = locked.storedThrough();
        boolean reread = pending != null && !pending.begin(mark, locked.rolledUpThrough()) && pending.needsStoredEvents();
        if (reread) {
            // What another replica (or this one, before a failed transaction) held in memory is gone.
            pending.rollups().addStored(connection, tenant, instance, locked.rolledUpThrough(), mark);
        }
        int first = 0;
        while (first < batch.getEventsCount() && batch.getEvents(first).getSequence() <= mark) {
            first++;
        }
        int duplicates = first;
        int stored = 0;
        int expired = 0;
        int clamped = 0;
        long last = mark;
        if (first < batch.getEventsCount()) {
            BinaryCopyRows rows = new BinaryCopyRows((batch.getEventsCount() - first) * 180);
            EventRollups rollup = pending == null ? null : pending.rollups();
            for (int i = first; i < batch.getEventsCount(); i++) {
                ConnectionEvent event = batch.getEvents(i);
                last = event.getSequence();
                long time = event.getTimeEpochMicros();
                if (time < oldestMicros) {
                    expired++;
                    continue;
                }
                if (time > latestMicros) {
                    clamped++;
                    time = nowMicros;
                }
                write(rows, event, time);
                if (rollup != null) {
                    rollup.add(event, time);
                }
                stored++;
            }
            rows.finish();
            if (stored > 0) {
                copyIntoStage(connection, rows);
                try (PreparedStatement move = connection.prepareStatement(MOVE_STAGE)) {
                    move.setObject(1, tenant);
                    move.setObject(2, instance);
                    move.executeUpdate();
                }
            }
        }
        boolean writeRollups = pending != null && (reread || pending.writeNow());
        if (writeRollups) {
            pending.rollups().write(connection, tenant, instance);
        }
        long lost = recordLosses(connection, tenant, instance, batch);
        try (PreparedStatement update = connection.prepareStatement("""
                update event_ingest_marks
                   set stored_through = ?, events_stored = events_stored + ?,
                       events_lost = events_lost + ?, events_expired = events_expired + ?,
                       events_clamped = events_clamped + ?, updated_at = now(),
                       rolled_up_through = case when ? then ? else rolled_up_through end
                 where instance_id = ?""")) {
            update.setLong(1, last);
            update.setLong(2, stored);
            update.setLong(3, lost);
            update.setLong(4, expired);
            update.setLong(5, clamped);
            update.setBoolean(6, writeRollups);
            update.setLong(7, last);
            update.setObject(8, instance);
            update.executeUpdate();
        }
        if (pending != null) {
            pending.stage(last, writeRollups);
        }
        return new IngestResult(last, stored, duplicates, expired, clamped, lost);
    }

    /**
     * Writes what {@code pending} holds (locked by the caller, who calls {@link PendingRollups.Pending#committed}
     * after the commit) in a transaction of its own: for an instance that sent nothing for the interval, and
     * for the sweep. Under the mark row's lock; what the row shows missing from it (another replica's or a
     * crashed one's) is read back from the stored events first. Returns the rollup keys written.
     */
    public int writeRollups(Connection connection, PendingRollups.Pending pending) throws SQLException {
        Mark locked = lockMark(connection, pending.tenant(), pending.instance());
        if (!pending.begin(locked.storedThrough(), locked.rolledUpThrough()) && pending.needsStoredEvents()) {
            pending.rollups().addStored(connection, pending.tenant(), pending.instance(), locked.rolledUpThrough(),
                    locked.storedThrough());
        }
        int keys = 0;
        if (locked.storedThrough() > locked.rolledUpThrough()) {
            EventRollups rollups = pending.rollups();
            keys = rollups.keys();
            rollups.write(connection, pending.tenant(), pending.instance());
            try (PreparedStatement update = connection.prepareStatement(
                    "update event_ingest_marks set rolled_up_through = stored_through where instance_id = ?")) {
                update.setObject(1, pending.instance());
                update.executeUpdate();
            }
        }
        pending.stage(locked.storedThrough(), true);
        return keys;
    }

    /** An instance's mark row: stored through this sequence, rolled up through that one. */
    private record Mark(long storedThrough, long rolledUpThrough) {}

    /**
     * Locks the instance's mark row (creating it on the first batch) and returns it. The row is
     * created from the instance's own row, which row-level security shows only to its tenant, so a
     * tenant can never open a mark (and store events) for another tenant's instance.
     */
    private static Mark lockMark(Connection connection, UUID tenant, UUID instance) throws SQLException {
        try (PreparedStatement create = connection.prepareStatement("""
                insert into event_ingest_marks (instance_id, tenant_id)
                select id, tenant_id from instances where id = ? on conflict (instance_id) do nothing""")) {
            create.setObject(1, instance);
            create.executeUpdate();
        }
        try (PreparedStatement lock = connection.prepareStatement(
                "select stored_through, rolled_up_through from event_ingest_marks where instance_id = ? for update")) {
            lock.setObject(1, instance);
            try (ResultSet rs = lock.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalArgumentException("there is no instance " + instance + " of tenant " + tenant);
                }
                return new Mark(rs.getLong(1), rs.getLong(2));
            }
        }
    }

    private static void copyIntoStage(Connection connection, BinaryCopyRows rows) throws SQLException {
        try (Statement create = connection.createStatement()) {
            create.execute(CREATE_STAGE);
        }
        CopyIn copy = connection.unwrap(PGConnection.class).getCopyAPI().copyIn(COPY_STAGE);
        try {
            copy.writeToCopy(rows.buffer(), 0, rows.length());
            copy.endCopy();
        } finally {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
    }

    /** Records the batch's losses once each (agents repeat them until acked); returns the newly recorded count. */
    private static long recordLosses(Connection connection, UUID tenant, UUID instance, EventBatch batch) throws SQLException {
        if (batch.getLossesCount() == 0) {
            return 0;
        }
        long lost = 0;
        try (PreparedStatement insert = connection.prepareStatement("""
                insert into event_losses (tenant_id, instance_id, first_sequence, last_sequence, count, reason)
                values (?, ?, ?, ?, ?, ?) on conflict do nothing""")) {
            for (EventLoss loss : batch.getLossesList()) {
                insert.setObject(1, tenant);
                insert.setObject(2, instance);
                insert.setLong(3, loss.getFirstSequence());
                insert.setLong(4, loss.getLastSequence());
                insert.setLong(5, loss.getCount());
                insert.setString(6, EventBatchCheck.lossReason(loss.getReason()));
                if (insert.executeUpdate() == 1) {
                    lost += loss.getCount();
                }
            }
        }
        return lost;
    }

    private static void write(BinaryCopyRows rows, ConnectionEvent event, long timeMicros) {
        rows.row(FIELDS);
        rows.bigint(event.getSequence());
        rows.timestamptz(timeMicros);
        rows.text(event.getDirection() == Direction.DIRECTION_INBOUND ? "inbound" : "outbound");
        rows.text(verdict(event.getVerdict()));
        rows.smallint(event.getIpProtocol());
        rows.inet(event.getSourceAddress());
        rows.integer(event.getSourcePort());
        rows.inet(event.getDestinationAddress());
        rows.integer(event.getDestinationPort());
        rows.text(event.getRuleId());
        rows.text(event.getReason());
        rows.text(event.getInterface());
    }

    /** The stored name of a verdict the batch check has accepted. */
    static String verdict(Verdict verdict) {
        return switch (verdict) {
            case VERDICT_ALLOWED -> "allowed";
            case VERDICT_BLOCKED -> "blocked";
            case VERDICT_WOULD_BLOCK -> "would-block";
            default -> throw new IllegalArgumentException("not a storable verdict: " + verdict);
        };
    }

    private static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }
}
