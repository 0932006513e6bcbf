package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Partition upkeep on the shared database. Runs with a clock far in the past, so it never touches the
 * partitions the other tests write into, then with the real clock to drop what it made.
 */
class EventPartitionsIT {

    private final TestServer server = TestServer.get();

    @Test
    void createsRetainedAndComingDaysWithRowLevelSecurityAndDropsExpiredOnes() throws Exception {
        // The service ran maintenance at start: today and three days ahead exist.
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        try (Connection owner = server.ownerConnection()) {
            assertThat(EventIngestIT.partitions(owner)).contains(EventPartitions.partitionName(today),
                    EventPartitions.partitionName(today.plusDays(3)), EventPartitions.partitionName(today.minusDays(30)));
        }

        Instant past = Instant.now().minus(java.time.Duration.ofDays(400));
        LocalDate pastDay = LocalDate.ofInstant(past, ZoneOffset.UTC);
        EventPartitions.Maintenance made = maintain(past, 2, 1);

        assertThat(made.skipped()).isFalse();
        assertThat(made.created()).containsExactly(
                EventPartitions.partitionName(pastDay.minusDays(2)), EventPartitions.partitionName(pastDay.minusDays(1)),
                EventPartitions.partitionName(pastDay), EventPartitions.partitionName(pastDay.plusDays(1)));
        assertThat(made.dropped()).isEmpty();
        assertThat(maintain(past, 2, 1).created()).as("a second run has nothing to do").isEmpty();
        try (Connection owner = server.ownerConnection(); Statement s = owner.createStatement()) {
            ResultSet rs = s.executeQuery("select relrowsecurity and relforcerowsecurity, "
                    + "(select count(*) from pg_policies p where p.tablename = c.relname and p.policyname = 'tenant_isolation') "
                    + "from pg_class c where relname = '" + EventPartitions.partitionName(pastDay) + "'");
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).as("enable and force row level security").isTrue();
            assertThat(rs.getInt(2)).isEqualTo(1);
            // A row in an expired day, to see it go with its partition.
            s.execute("insert into connection_events (tenant_id, instance_id, sequence, time, direction, verdict, ip_protocol, "
                    + "source_address, source_port, destination_address, destination_port, rule_id, reason, interface) "
                    + "values (gen_random_uuid(), gen_random_uuid(), 1, '" + past + "', 'inbound', 'blocked', 6, "
                    + "'203.0.113.1', 1, '192.0.2.1', 443, '', 'geo', 'eth0')");
        }

        EventPartitions.Maintenance now = maintain(Instant.now(), 30, 3);

        assertThat(now.dropped()).containsAll(made.created());
        try (Connection owner = server.ownerConnection(); Statement s = owner.createStatement();
                ResultSet rs = s.executeQuery("select count(*) from connection_events where time < now() - interval '300 days'")) {
            rs.next();
            assertThat(rs.getLong(1)).isZero();
            assertThat(EventIngestIT.partitions(owner)).doesNotContainAnyElementsOf(made.created());
        }
    }

    @Test
    void aReplicaSkipsWhileAnotherHoldsTheLock() throws Exception {
        try (Connection other = server.ownerConnection()) {
            other.setAutoCommit(false);
            try (Statement s = other.createStatement()) {
                s.execute("select pg_advisory_xact_lock(" + EventPartitions.LOCK + ")");
            }
            assertThat(maintain(Instant.now(), 30, 3)).isEqualTo(new EventPartitions.Maintenance(true, List.of(), List.of()));
            other.rollback();
        }
        assertThat(maintain(Instant.now(), 30, 3).skipped()).isFalse();
    }

    private EventPartitions.Maintenance maintain(Instant now, int retentionDays, int daysAhead) throws SQLException {
        try (Connection owner = server.ownerConnection()) {
            owner.setAutoCommit(false);
            EventPartitions.Maintenance done = EventPartitions.maintain(owner, now, retentionDays, daysAhead);
            owner.commit();
            return done;
        }
    }
}
