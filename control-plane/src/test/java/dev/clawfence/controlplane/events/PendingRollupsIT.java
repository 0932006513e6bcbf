package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.address;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Rollups held in memory across batches ({@link PendingRollups}) against the stored events as the model:
 * two replicas ingest the same instances' batches in random turns, with retried batches, transactions that
 * roll back, replicas that crash with rollups in memory, writes when due and writes by the sweep. At the
 * end every rollup table must equal the SQL aggregate of {@code connection_events}: nothing lost, nothing
 * counted twice. The seed is printed; {@code -Drollups.seed=N} replays a run.
 */
class PendingRollupsIT {

    private static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final List<String> RULES = List.of("", "", "in-allow-1", "out-allow-2");
    private static final List<String> REASONS = List.of("not-allowlisted", "port-closed", "geo", "allowlisted",
            "unknown-destination", "destination-allowed");
    private static final List<ByteString[]> PEERS = List.of(
            new ByteString[] {address("203.0.113.7"), address("192.0.2.10")},
            new ByteString[] {address("203.0.113.8"), address("192.0.2.10")},
            new ByteString[] {address("198.51.100.20"), address("192.0.2.11")},
            new ByteString[] {address("2001:db8::7"), address("2001:db8::10")},
            // A v4-mapped IPv6 address stays IPv6 when the events are read back (EventRollups.addStored).
            new ByteString[] {mapped("203.0.113.9"), address("2001:db8::10")});

    private final TestServer server = TestServer.get();
    private final EventStore store = new EventStore(Clock.systemUTC(), 30, Duration.ofHours(1));
    private final AtomicLong nanos = new AtomicLong();

    @Test
    void replicasThatFailCrashAndRaceCountEveryStoredEventOnce() throws SQLException {
        long seed = Long.getLong("rollups.seed", System.nanoTime());
        System.out.println("PendingRollupsIT seed " + seed + " (replay with -Drollups.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);
        UUID tenant = server.admin().createTenant("Rollups " + UUID.randomUUID());
        UUID[] hosts = {instance(tenant), instance(tenant)};
        long[] acked = new long[hosts.length];
        PendingRollups[] replicas = {replica(), replica()};
        int[] done = new int[6];

        for (int step = 0; step < 120; step++) {
            int host = random.nextInt(hosts.length);
            int r = random.nextInt(replicas.length);
            switch (random.nextInt(10)) {
                case 0 -> {
                    // A replica dies with whatever it held.
                    replicas[r] = replica();
                    done[0]++;
                }
                case 1 -> {
                    // A transaction that fails after storing (e.g. the connection drops before the commit).
                    ingest(replicas[r], tenant, hosts[host], batch(random, acked[host]), false);
                    done[1]++;
                }
                case 2 -> {
                    nanos.addAndGet(INTERVAL.toNanos() + 1);
                    done[2]++;
                }
                case 3 -> {
                    // The replica's timer: instances that sent nothing for the interval.
                    for (PendingRollups.Pending held : replicas[r].takeDue(false)) {
                        try (held) {
                            write(held);
                        }
                    }
                    done[3]++;
                }
                case 4 -> {
                    // The sweep, on either replica, for an instance whose rollups it may or may not hold.
                    try (PendingRollups.Pending held = replicas[r].open(tenant, hosts[host])) {
                        write(held);
                    }
                    done[4]++;
                }
                default -> {
                    // A batch, sometimes resending what was stored but not acked.
                    EventBatch batch = batch(random, acked[host] - (random.nextInt(4) == 0 ? random.nextInt(30) : 0));
                    acked[host] = ingest(replicas[r], tenant, hosts[host], batch, true);
                    done[5]++;
                }
            }
        }
        System.out.printf("PendingRollupsIT: %d crashes, %d failed transactions, %d clock steps, %d timer writes, "
                + "%d sweeps, %d batches; %,d events stored%n", done[0], done[1], done[2], done[3], done[4], done[5],
                stored(tenant));
        // Whatever is still held or lagging: a fresh replica's sweep brings every instance up to date.
        PendingRollups last = replica();
        for (UUID host : hosts) {
            try (PendingRollups.Pending held = last.open(tenant, host)) {
                write(held);
            }
        }
        assertRollupsMatchEvents(tenant);
    }

    @Test
    void theSweepAddsUpWhatAReplicaThatDiedHeld() throws SQLException {
        UUID tenant = server.admin().createTenant("Rollup sweep " + UUID.randomUUID());
        UUID host = instance(tenant);
        // A replica stores a batch, holds its rollups and dies before the interval is up.
        long mark = ingest(new PendingRollups(Duration.ofMinutes(1)), tenant, host, batch(new SplittableRandom(7), 0), true);
        assertThat(owner("select stored_through - rolled_up_through from event_ingest_marks where instance_id = ?", host))
                .isEqualTo(mark);
        EventIngest ingest = server.context().getBean(EventIngest.class);
        ingest.sweep();
        assertThat(owner("select stored_through - rolled_up_through from event_ingest_marks where instance_id = ?", host))
                .as("not yet: a live replica may still hold it").isEqualTo(mark);

        execute("update event_ingest_marks set updated_at = now() - interval '1 hour' where instance_id = ?", host);
        assertThat(ingest.sweep()).isPositive();
        assertThat(owner("select stored_through - rolled_up_through from event_ingest_marks where instance_id = ?", host))
                .isZero();
        assertRollupsMatchEvents(tenant);
    }

    private PendingRollups replica() {
        return new PendingRollups(INTERVAL, nanos::get);
    }

    /** Stores {@code batch} through {@code replica} and commits or rolls back; returns the instance's mark. */
    private long ingest(PendingRollups replica, UUID tenant, UUID host, EventBatch batch, boolean commit) throws SQLException {
        try (Connection c = tenantConnection(tenant); PendingRollups.Pending held = replica.open(tenant, host)) {
            IngestResult result = store.ingest(c, tenant, host, batch, held);
            if (result.stored() > 0) {
                EventLiveStream.recordBatch(c, tenant, host);
            }
            if (commit) {
                c.commit();
                held.committed();
            } else {
                c.rollback();
            }
            return result.storedThrough();
        }
    }

    private void write(PendingRollups.Pending held) throws SQLException {
        try (Connection c = tenantConnection(held.tenant())) {
            store.writeRollups(c, held);
            c.commit();
            held.committed();
        }
    }

    /** 1 to 120 events after {@code after}, over the last two hours, of every direction, verdict and reason. */
    private static EventBatch batch(SplittableRandom random, long after) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        Instant now = Instant.now();
        int n = 1 + random.nextInt(120);
        for (int i = 1; i <= n; i++) {
            boolean inbound = random.nextBoolean();
            ByteString[] peer = PEERS.get(random.nextInt(PEERS.size()));
            batch.addEvents(ConnectionEvent.newBuilder()
                    .setSequence(Math.max(0, after) + i)
                    .setTimeEpochMicros(ChronoUnit.MICROS.between(Instant.EPOCH, now.minusSeconds(random.nextInt(7200))))
                    .setDirection(inbound ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                    .setVerdict(List.of(Verdict.VERDICT_ALLOWED, Verdict.VERDICT_BLOCKED, Verdict.VERDICT_WOULD_BLOCK)
                            .get(random.nextInt(3)))
                    .setIpProtocol(6)
                    .setSourceAddress(inbound ? peer[0] : peer[1])
                    .setSourcePort(40000)
                    .setDestinationAddress(inbound ? peer[1] : peer[0])
                    .setDestinationPort(random.nextBoolean() ? 443 : 22)
                    .setRuleId(RULES.get(random.nextInt(RULES.size())))
                    .setReason(REASONS.get(random.nextInt(REASONS.size())))
                    .setInterface("eth0"));
        }
        return batch.build();
    }

    private static ByteString mapped(String v4) {
        byte[] bytes = new byte[16];
        bytes[10] = (byte) 0xff;
        bytes[11] = (byte) 0xff;
        address(v4).copyTo(bytes, 12);
        return ByteString.copyFrom(bytes);
    }

    /** Each rollup table, summed per key, against the same sums computed from the tenant's stored events. */
    private void assertRollupsMatchEvents(UUID tenant) throws SQLException {
        String[][] pairs = {
            {"event_counts_minute", """
                select instance_id, minute, direction, verdict, sum(events) from event_counts_minute where tenant_id = ?
                 group by 1, 2, 3, 4""", """
                select instance_id, date_trunc('minute', time), direction, verdict, count(*) from connection_events
                 where tenant_id = ? group by 1, 2, 3, 4"""},
            {"rule_hits_daily", """
                select instance_id, day, rule_id, sum(hits), max(last_hit_at) from rule_hits_daily where tenant_id = ?
                 group by 1, 2, 3""", """
                select instance_id, (time at time zone 'UTC')::date, rule_id, count(*), max(time) from connection_events
                 where tenant_id = ? and rule_id <> '' group by 1, 2, 3"""},
            {"traffic_sources_hourly", """
                select instance_id, hour, address, sum(allowed), sum(blocked), sum(would_block), sum(geo), min(first_seen),
                       max(last_seen) from traffic_sources_hourly where tenant_id = ? group by 1, 2, 3""", """
                select instance_id, date_trunc('hour', time), source_address, count(*) filter (where verdict = 'allowed'),
                       count(*) filter (where verdict = 'blocked'), count(*) filter (where verdict = 'would-block'),
                       count(*) filter (where reason = 'geo'), min(time), max(time)
                  from connection_events where tenant_id = ? and direction = 'inbound' group by 1, 2, 3"""},
            {"traffic_destinations_hourly", """
                select instance_id, hour, address, port, sum(allowed), sum(blocked), sum(would_block), sum(unknown),
                       min(first_seen), max(last_seen) from traffic_destinations_hourly where tenant_id = ? group by 1, 2, 3, 4""", """
                select instance_id, date_trunc('hour', time), destination_address, destination_port,
                       count(*) filter (where verdict = 'allowed'), count(*) filter (where verdict = 'blocked'),
                       count(*) filter (where verdict = 'would-block'), count(*) filter (where reason = 'unknown-destination'),
                       min(time), max(time)
                  from connection_events where tenant_id = ? and direction = 'outbound' group by 1, 2, 3, 4"""},
            {"traffic_source_ports_daily", """
                select instance_id, day, address, port, sum(attempts), min(first_seen), max(last_seen)
                  from traffic_source_ports_daily where tenant_id = ? group by 1, 2, 3, 4""", """
                select instance_id, (time at time zone 'UTC')::date, source_address, destination_port, count(*), min(time), max(time)
                  from connection_events where tenant_id = ? and direction = 'inbound' and verdict <> 'allowed'
                   and reason = 'port-closed' group by 1, 2, 3, 4"""}};
        try (Connection c = server.ownerConnection()) {
            try (var s = c.createStatement()) {
                s.execute("set timezone = 'UTC'");
            }
            for (String[] pair : pairs) {
                List<String> differences = new ArrayList<>();
                try (PreparedStatement s = c.prepareStatement("""
                        select 'rollup only: ' || r::text from ((%1$s) except all (%2$s)) r
                        union all
                        select 'events only: ' || e::text from ((%2$s) except all (%1$s)) e
                        limit 10""".formatted(pair[1], pair[2]))) {
                    for (int i = 1; i <= 4; i++) {
                        s.setObject(i, tenant);
                    }
                    try (ResultSet rs = s.executeQuery()) {
                        while (rs.next()) {
                            differences.add(rs.getString(1));
                        }
                    }
                }
                assertThat(differences).as(pair[0] + " against the stored events").isEmpty();
            }
        }
    }

    private long stored(UUID tenant) throws SQLException {
        return owner("select count(*) from connection_events where tenant_id = ?", tenant);
    }

    private Connection tenantConnection(UUID tenant) throws SQLException {
        Connection c = server.appConnection();
        c.setAutoCommit(false);
        try (PreparedStatement s = c.prepareStatement("select set_config('clawfence.tenant_id', ?, false)")) {
            s.setString(1, tenant.toString());
            s.execute();
        }
        return c;
    }

    private long owner(String sql, UUID id) throws SQLException {
        try (Connection c = server.ownerConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setObject(1, id);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private void execute(String sql, UUID id) throws SQLException {
        try (Connection c = server.ownerConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setObject(1, id);
            s.executeUpdate();
        }
    }
}
