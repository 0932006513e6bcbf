package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * The upgrade to V016 on a database that already holds marks: every event stored before it was rolled up
 * in its own transaction, so each instance's {@code rolled_up_through} starts at its {@code stored_through},
 * and the table keeps its forced row-level security.
 */
class RollupMarkMigrationIT {

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
