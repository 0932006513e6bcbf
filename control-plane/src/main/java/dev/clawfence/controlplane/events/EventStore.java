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
 * stored events are then added to the rollups ({@link EventRollups}) in the same transaction, so
 * charts and flags count every stored event once, retries included.
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
    private final boolean rollups;

    /** A store that keeps the rollups ({@link EventRollups}) current in each ingest transaction. */
    public EventStore(Clock clock, int retentionDays, Duration futureTolerance) {
        this(clock, retentionDays, futureTolerance, true);
    }

    /**
     * @param retentionDays the retention of tenants without their own ({@link EventRetention}): events
     *     older than the start of the UTC day the tenant's retention ago are counted as expired instead
     *     of stored
     * @param futureTolerance how far ahead of the clock an event's time may lie before it is clamped
     *     to the receive time; must be shorter than the partitions created ahead
     * @param rollups whether to add each batch to the rollups in the same transaction (off only to
     *     measure what they cost)
     */
    public EventStore(Clock clock, int retentionDays, Duration futureTolerance, boolean rollups) {
        this.clock = clock;
        this.retentionDays = retentionDays;
        this.futureTolerance = futureTolerance;
        this.rollups = rollups;
    }

    /**
     * Stores the events of {@code batch} above the instance's mark, records its losses, and advances
     * the mark, all in the caller's transaction.
     *
     * @throws InvalidEventBatchException when the batch breaks the contract (nothing is written)
     * @throws IllegalArgumentException when {@code instance} is not an instance of {@code tenant}
     */
    public IngestResult ingest(Connection connection, UUID tenant, UUID instance, EventBatch batch) throws SQLException {
        EventBatchCheck.check(batch);
        Instant now = clock.instant();
        // The tenant's own retention, when it has one: an event older than that is expired, not stored.
        long oldestMicros = micros(EventPartitions.retainedFrom(now, EventRetention.days(connection, tenant, retentionDays)));
        long latestMicros = micros(now.plus(futureTolerance));
        long nowMicros = micros(now);

        long mark = lockMark(connection, tenant, instance);
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
            BinaryCopyRows rows = new BinaryCopyRows((batch.getEventsCount() - first) * 140);
            EventRollups rollup = rollups ? new EventRollups() : null;
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
                if (rollup != null) {
                    rollup.write(connection, tenant, instance);
                }
            }
        }
        long lost = recordLosses(connection, tenant, instance, batch);
        try (PreparedStatement update = connection.prepareStatement("""
                update event_ingest_marks
                   set stored_through = greatest(stored_through, ?), events_stored = events_stored + ?,
                       events_lost = events_lost + ?, events_expired = events_expired + ?,
                       events_clamped = events_clamped + ?, updated_at = now()
                 where instance_id = ?""")) {
            update.setLong(1, last);
            update.setLong(2, stored);
            update.setLong(3, lost);
            update.setLong(4, expired);
            update.setLong(5, clamped);
            update.setObject(6, instance);
            update.executeUpdate();
        }
        return new IngestResult(last, stored, duplicates, expired, clamped, lost);
    }

    /**
     * Locks the instance's mark row (creating it on the first batch) and returns the mark. The row is
     * created from the instance's own row, which row-level security shows only to its tenant, so a
     * tenant can never open a mark (and store events) for another tenant's instance.
     */
    private static long lockMark(Connection connection, UUID tenant, UUID instance) throws SQLException {
        try (PreparedStatement create = connection.prepareStatement("""
                insert into event_ingest_marks (instance_id, tenant_id)
                select id, tenant_id from instances where id = ? on conflict (instance_id) do nothing""")) {
            create.setObject(1, instance);
            create.executeUpdate();
        }
        try (PreparedStatement lock = connection.prepareStatement(
                "select stored_through from event_ingest_marks where instance_id = ? for update")) {
            lock.setObject(1, instance);
            try (ResultSet rs = lock.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalArgumentException("there is no instance " + instance + " of tenant " + tenant);
                }
                return rs.getLong(1);
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
