package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * The event migrations on databases of their own, beside the shared test database: the upgrade to V016 on
 * a database that already holds marks (every event stored before it was rolled up in its own transaction,
 * so each {@code rolled_up_through} starts at its {@code stored_through}, and the table keeps its forced
 * row-level security), and the owner-only maintenance policies under an owner that is not a superuser.
 */
class EventMigrationsIT {

    private final TestServer server = TestServer.get();

    @Test
    void existingMarksStartRolledUpThroughWhatTheyStored() throws SQLException {
        String name = "upgrade_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = server.ownerConnection(); Statement s = c.createStatement()) {
            s.execute("create database " + name);
        }
        String url = server.ownerUrl().replace("/postgres", "/" + name);
        try {
            migrate(url, "15");
            UUID tenant = UUID.randomUUID();
            UUID[] instances = {UUID.randomUUID(), UUID.randomUUID()};
            try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
                s.execute("insert into tenants (id, name) values ('" + tenant + "', 'upgrade')");
                long stored = 1234;
                for (UUID instance : instances) {
                    s.execute("insert into instances (id, tenant_id) values ('" + instance + "', '" + tenant + "')");
                    s.execute("insert into event_ingest_marks (instance_id, tenant_id, stored_through) values ('"
                            + instance + "', '" + tenant + "', " + stored + ")");
                    stored = 0;
                }
            }

            migrate(url, "latest");

            try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery(
                        "select count(*) filter (where rolled_up_through = stored_through), count(*), max(rolled_up_through) from event_ingest_marks")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(2);
                    assertThat(rs.getLong(2)).isEqualTo(2);
                    assertThat(rs.getLong(3)).isEqualTo(1234);
                }
                try (ResultSet rs = s.executeQuery(
                        "select relrowsecurity, relforcerowsecurity from pg_class where relname = 'event_ingest_marks'")) {
                    rs.next();
                    assertThat(rs.getBoolean(1)).isTrue();
                    assertThat(rs.getBoolean(2)).as("forced again after the update").isTrue();
                }
            }
        } finally {
            try (Connection c = server.ownerConnection(); Statement s = c.createStatement()) {
                s.execute("drop database if exists " + name + " with (force)");
            }
        }
    }

    /**
     * The sweep reads every tenant's marks as the owner. Owned by a role that is not a superuser (as on a
     * managed PostgreSQL), the forced tenant policy shows that owner no marks unless the transaction says
     * it is sweeping, and then only shows them: it cannot change one. Compaction and expiry work for such
     * an owner too.
     */
    @Test
    void maintenanceWorksForANonSuperuserOwnerOnlyWhenItSaysSo() throws SQLException {
        String suffix = UUID.randomUUID().toString().replace("-", "");
        String name = "sweep_" + suffix;
        String role = "cf_owner_" + suffix;
        try (Connection c = server.ownerConnection(); Statement s = c.createStatement()) {
            s.execute("create role " + role + " login password 'owner' nosuperuser nobypassrls");
            s.execute("create database " + name + " owner " + role);
        }
        String url = server.ownerUrl().replace("/postgres", "/" + name);
        try {
            Flyway.configure().dataSource(url, role, "owner").locations("classpath:db/migration")
                    .placeholders(Map.of("appRole", "clawfence_app")).load().migrate();
            UUID tenant = UUID.randomUUID();
            UUID instance = UUID.randomUUID();
            try (Connection c = DriverManager.getConnection(url, role, "owner"); Statement s = c.createStatement()) {
                s.execute("set clawfence.tenant_id = '" + tenant + "'");
                s.execute("insert into tenants (id, name) values ('" + tenant + "', 'sweep')");
                s.execute("insert into instances (id, tenant_id) values ('" + instance + "', '" + tenant + "')");
                s.execute("insert into event_ingest_marks (instance_id, tenant_id, stored_through) values ('"
                        + instance + "', '" + tenant + "', 10)");
            }
            try (Connection c = DriverManager.getConnection(url, role, "owner"); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                assertThat(count(s, "select count(*) from event_ingest_marks")).as("no tenant, no sweep").isZero();
                s.execute("set local clawfence.maintenance = 'rollup-sweep'");
                assertThat(count(s, "select count(*) from event_ingest_marks where rolled_up_through < stored_through"))
                        .isEqualTo(1);
                assertThat(s.executeUpdate("update event_ingest_marks set rolled_up_through = stored_through"))
                        .as("the sweep policy only shows").isZero();
                s.execute("set local clawfence.maintenance = 'compaction'");
                assertThat(count(s, "select count(*) from event_ingest_marks")).as("another maintenance").isZero();
                c.rollback();
            }

            // The other owner-only maintenance (V008 expiry, V013 compaction) through its real code, which the
            // superuser owner of the other tests never holds to its policies.
            try (Connection c = DriverManager.getConnection(url, role, "owner"); Statement s = c.createStatement()) {
                s.execute("set clawfence.tenant_id = '" + tenant + "'");
                for (String hour : List.of("now()", "now()", "now() - interval '40 days'")) {
                    s.execute("insert into traffic_sources_hourly (tenant_id, instance_id, hour, address, allowed, blocked, "
                            + "would_block, geo, first_seen, last_seen) values ('" + tenant + "', '" + instance + "', date_trunc('hour', "
                            + hour + "), '203.0.113.7', 0, 2, 0, 0, " + hour + ", " + hour + ")");
                }
                s.execute("insert into event_stream_batches (tenant_id, instance_id, first_sequence, last_sequence, first_time, "
                        + "last_time) values ('" + tenant + "', '" + instance + "', 1, 10, now(), now())");
            }
            try (Connection c = DriverManager.getConnection(url, role, "owner")) {
                c.setAutoCommit(false);
                EventRollups.Compaction compaction = EventRollups.compact(c, java.time.Instant.now().minusSeconds(600));
                c.commit();
                assertThat(compaction.skipped()).isFalse();
                assertThat(compaction.rowsBefore()).as("this hour's two rows").isEqualTo(2);
                assertThat(compaction.rowsAfter()).isEqualTo(1);
                long expired = EventRollups.expire(c, java.time.Instant.now().minus(java.time.Duration.ofDays(30)));
                c.commit();
                assertThat(expired).as("the 40-day-old row").isEqualTo(1);
            }
            try (Connection c = DriverManager.getConnection(url, role, "owner"); Statement s = c.createStatement()) {
                s.execute("set clawfence.tenant_id = '" + tenant + "'");
                assertThat(count(s, "select sum(blocked) from traffic_sources_hourly")).as("merged, nothing lost").isEqualTo(4);
                assertThat(count(s, "select count(*) from traffic_sources_hourly")).isEqualTo(1);
            }
        } finally {
            try (Connection c = server.ownerConnection(); Statement s = c.createStatement()) {
                s.execute("drop database if exists " + name + " with (force)");
                s.execute("drop role if exists " + role);
            }
        }
    }

    private static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void migrate(String url, String target) {
        Flyway.configure()
                .dataSource(url, "postgres", "postgres")
                .locations("classpath:db/migration")
                .placeholders(Map.of("appRole", "clawfence_app"))
                .target(target)
                .load()
                .migrate();
    }
}
