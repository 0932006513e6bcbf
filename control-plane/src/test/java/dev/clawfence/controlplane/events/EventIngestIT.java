package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.address;
import static dev.clawfence.controlplane.events.Events.batch;
import static dev.clawfence.controlplane.events.Events.event;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import dev.clawfence.proto.agent.v1.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Event storage on the shared embedded PostgreSQL: exactly once, tenant walls, refusals. */
class EventIngestIT {

    private final TestServer server = TestServer.get();
    private final EventIngest ingest = server.context().getBean(EventIngest.class);

    @Test
    void retriedAndOverlappingBatchesStoreEverySequenceOnce() throws Exception {
        UUID tenant = server.admin().createTenant("Retries");
        UUID instance = instance(tenant);

        IngestResult first = ingest.ingest(tenant, instance, batch(1, 100));
        IngestResult retried = ingest.ingest(tenant, instance, batch(1, 100));
        IngestResult overlapping = ingest.ingest(tenant, instance, batch(51, 150));

        assertThat(first).isEqualTo(new IngestResult(100, 100, 0, 0, 0, 0));
        assertThat(retried).isEqualTo(new IngestResult(100, 0, 100, 0, 0, 0));
        assertThat(overlapping).isEqualTo(new IngestResult(150, 50, 50, 0, 0, 0));
        assertThat(sequences(tenant, instance)).isEqualTo(new Counts(150, 150, 1, 150));
        assertThat(mark(tenant, instance)).isEqualTo(150);
    }

    @Test
    void twoReplicasRacingWithTheSameBatchStoreItOnce() throws Exception {
        UUID tenant = server.admin().createTenant("Racing replicas");
        UUID instance = instance(tenant);
        int rounds = 15;
        int size = 500;
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < rounds; round++) {
                EventBatch batch = batch(round * size + 1L, (round + 1L) * size);
                // Each call takes its own pooled connection and transaction, as two replicas would.
                Callable<IngestResult> replica = () -> {
                    start.await();
                    return ingest.ingest(tenant, instance, batch);
                };
                Future<IngestResult> a = pool.submit(replica);
                Future<IngestResult> b = pool.submit(replica);
                assertThat(a.get().stored() + b.get().stored()).as("round %d", round).isEqualTo(size);
                assertThat(a.get().duplicates() + b.get().duplicates()).as("round %d", round).isEqualTo(size);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(sequences(tenant, instance)).isEqualTo(new Counts(rounds * size, rounds * size, 1, rounds * size));
    }

    @Test
    void storesTheFieldsAsSentForBothFamilies() throws Exception {
        UUID tenant = server.admin().createTenant("Fields");
        UUID instance = instance(tenant);
        Instant time = Instant.now().minusSeconds(30).truncatedTo(ChronoUnit.MICROS);
        EventBatch batch = EventBatch.newBuilder()
                .addEvents(event(7, time).setDirection(Direction.DIRECTION_OUTBOUND).setVerdict(Verdict.VERDICT_WOULD_BLOCK)
                        .setIpProtocol(17).setSourceAddress(address("2001:db8::5")).setSourcePort(50123)
                        .setDestinationAddress(address("2001:db8:ffff::1")).setDestinationPort(53)
                        .setRuleId("out-dns-1").setReason("unknown-destination").setInterface("ens3"))
                .build();

        ingest.ingest(tenant, instance, batch);

        try (Connection c = tenantConnection(tenant); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("""
                        select sequence, time, direction, verdict, ip_protocol, host(source_address), source_port,
                               host(destination_address), destination_port, rule_id, reason, interface, country,
                               host(peer_address), instance_id, received_at is not null
                          from connection_events""")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).isEqualTo(7);
            assertThat(rs.getTimestamp(2).toInstant()).isEqualTo(time);
            assertThat(rs.getString(3)).isEqualTo("outbound");
            assertThat(rs.getString(4)).isEqualTo("would-block");
            assertThat(rs.getInt(5)).isEqualTo(17);
            assertThat(rs.getString(6)).isEqualTo("2001:db8::5");
            assertThat(rs.getInt(7)).isEqualTo(50123);
            assertThat(rs.getString(8)).isEqualTo("2001:db8:ffff::1");
            assertThat(rs.getInt(9)).isEqualTo(53);
            assertThat(rs.getString(10)).isEqualTo("out-dns-1");
            assertThat(rs.getString(11)).isEqualTo("unknown-destination");
            assertThat(rs.getString(12)).isEqualTo("ens3");
            assertThat(rs.getString(13)).isNull();
            assertThat(rs.getString(14)).as("peer of an outbound attempt").isEqualTo("2001:db8:ffff::1");
            assertThat(rs.getObject(15)).isEqualTo(instance);
            assertThat(rs.getBoolean(16)).isTrue();
            assertThat(rs.next()).isFalse();
        }
    }

    @Test
    void aTenantSeesNoEventMarkOrLossOfAnother() throws Exception {
        UUID a = server.admin().createTenant("Events A");
        UUID b = server.admin().createTenant("Events B");
        UUID instanceA = instance(a);
        ingest.ingest(a, instanceA, batch(1, 10).toBuilder()
                .addLosses(EventLoss.newBuilder().setFirstSequence(11).setLastSequence(12).setCount(2)
                        .setReason(EventLoss.Reason.CORRUPT))
                .build());

        for (String table : List.of("connection_events", "event_ingest_marks", "event_losses")) {
            assertThat(count(b, "select count(*) from " + table + " where instance_id = '" + instanceA + "'"))
                    .as(table + " seen by tenant B").isZero();
            assertThat(count(a, "select count(*) from " + table + " where instance_id = '" + instanceA + "'"))
                    .as(table + " seen by tenant A").isPositive();
        }
        // A partition named directly is no way around the wall.
        String partition = EventPartitions.partitionName(java.time.LocalDate.now(java.time.ZoneOffset.UTC));
        try (Connection c = tenantConnection(b); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("select count(*) from " + partition))
                    .hasMessageContaining("permission denied");
        }
        // Nor is naming another tenant's instance when storing.
        assertThatThrownBy(() -> ingest.ingest(b, instanceA, batch(11, 20)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("there is no instance " + instanceA + " of tenant " + b);
        assertThat(sequences(a, instanceA).rows()).isEqualTo(10);
    }

    @Test
    void aRefusedBatchStoresNothingAndKeepsTheMark() throws Exception {
        UUID tenant = server.admin().createTenant("Refusals");
        UUID instance = instance(tenant);
        ingest.ingest(tenant, instance, batch(1, 5));
        Instant now = Instant.now();

        EventBatch unordered = EventBatch.newBuilder().addEvents(event(6, now)).addEvents(event(8, now))
                .addEvents(event(7, now)).build();
        EventBatch badAddress = EventBatch.newBuilder().addEvents(event(6, now))
                .addEvents(event(7, now).setSourceAddress(ByteString.copyFrom(new byte[] {1, 2, 3}))).build();
        EventBatch unknownVerdict = EventBatch.newBuilder().addEvents(event(6, now))
                .addEvents(event(7, now).setVerdictValue(12)).build();

        assertThatThrownBy(() -> ingest.ingest(tenant, instance, unordered))
                .isInstanceOf(InvalidEventBatchException.class)
                .hasMessageContaining("events[2].sequence: 7 does not follow 8");
        assertThatThrownBy(() -> ingest.ingest(tenant, instance, badAddress))
                .isInstanceOf(InvalidEventBatchException.class)
                .hasMessageContaining("events[1].source_address: 3 bytes is not an address");
        assertThatThrownBy(() -> ingest.ingest(tenant, instance, unknownVerdict))
                .isInstanceOf(InvalidEventBatchException.class)
                .hasMessageContaining("events[1].verdict: 12 is not a known verdict");
        assertThat(sequences(tenant, instance)).isEqualTo(new Counts(5, 5, 1, 5));
        assertThat(mark(tenant, instance)).isEqualTo(5);
    }

    @Test
    void lossesCountOnceThoughAgentsRepeatThem() throws Exception {
        UUID tenant = server.admin().createTenant("Losses");
        UUID instance = instance(tenant);
        EventLoss dropped = EventLoss.newBuilder().setFirstSequence(1).setLastSequence(40).setCount(40)
                .setReason(EventLoss.Reason.FULL_DROPPED_OLDEST).build();
        EventBatch batch = batch(41, 50).toBuilder().addLosses(dropped).build();

        assertThat(ingest.ingest(tenant, instance, batch).lost()).isEqualTo(40);
        assertThat(ingest.ingest(tenant, instance, batch).lost()).isZero();
        assertThat(count(tenant, "select events_lost from event_ingest_marks where instance_id = '" + instance + "'"))
                .isEqualTo(40);
        assertThat(count(tenant, "select count(*) from event_losses where instance_id = '" + instance + "'")).isEqualTo(1);
    }

    @Test
    void eventsBeyondTheRetentionAreCountedAndFutureOnesClampedToTheReceiveTime() throws Exception {
        UUID tenant = server.admin().createTenant("Clocks");
        UUID instance = instance(tenant);
        Instant now = Instant.now();
        EventBatch batch = EventBatch.newBuilder()
                .addEvents(event(1, now.minus(Duration.ofDays(45))))
                .addEvents(event(2, now.minusSeconds(5)))
                .addEvents(event(3, now.plus(Duration.ofDays(2))))
                .build();

        IngestResult result = ingest.ingest(tenant, instance, batch);

        assertThat(result).isEqualTo(new IngestResult(3, 2, 0, 1, 1, 0));
        assertThat(sequences(tenant, instance)).isEqualTo(new Counts(2, 2, 2, 3));
        assertThat(count(tenant, "select count(*) from connection_events where sequence = 3 and time <= now()"))
                .as("the future event stored at its receive time").isEqualTo(1);
        assertThat(count(tenant, "select events_expired * 10 + events_clamped from event_ingest_marks where instance_id = '"
                + instance + "'")).isEqualTo(11);
    }

    private record Counts(long rows, long distinct, long min, long max) {}

    private Counts sequences(UUID tenant, UUID instance) throws SQLException {
        try (Connection c = tenantConnection(tenant);
                PreparedStatement s = c.prepareStatement("""
                        select count(*), count(distinct sequence), coalesce(min(sequence), 0), coalesce(max(sequence), 0)
                          from connection_events where instance_id = ?""")) {
            s.setObject(1, instance);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return new Counts(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
            }
        }
    }

    private long mark(UUID tenant, UUID instance) throws SQLException {
        return count(tenant, "select stored_through from event_ingest_marks where instance_id = '" + instance + "'");
    }

    private long count(UUID tenant, String sql) throws SQLException {
        try (Connection c = tenantConnection(tenant); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    /** An app-role connection whose session shows {@code tenant}'s rows, as the service's transactions do. */
    private Connection tenantConnection(UUID tenant) throws SQLException {
        Connection c = server.appConnection();
        try (PreparedStatement s = c.prepareStatement("select set_config('clawfence.tenant_id', ?, false)")) {
            s.setString(1, tenant.toString());
            s.execute();
        }
        return c;
    }


    static List<String> partitions(Connection owner) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement s = owner.createStatement(); ResultSet rs = s.executeQuery("""
                select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'connection_events'::regclass order by 1""")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }
}
