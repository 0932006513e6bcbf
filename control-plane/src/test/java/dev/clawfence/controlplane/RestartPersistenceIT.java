package dev.clawfence.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.controlplane.tenancy.AdminTokenBootstrap;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Embedded mode end to end: data survive a restart on the same data directory. */
class RestartPersistenceIT {

    @TempDir
    Path dataDir;

    private EmbeddedServer start() {
        return ApplicationContext.run(EmbeddedServer.class, Map.of(
                "micronaut.server.port", -1,
                "grpc.server.port", TestServer.freePort(),
                "clawfence.agent-gateway.port", 0,
                "clawfence.data-dir", dataDir.toString(),
                "clawfence.admin-token", ""));
    }

    private static Api api(EmbeddedServer server, String token) {
        return new Api(URI.create("http://localhost:" + server.getPort()), token);
    }

    @Test
    void savedPolicyAndAdminTokenSurviveARestart() throws Exception {
        String adminToken;
        UUID tenant;
        EmbeddedServer first = start();
        try {
            adminToken = first.getApplicationContext().getBean(AdminTokenBootstrap.class).generatedToken().orElseThrow();
            Api admin = api(first, adminToken);
            tenant = admin.createTenant("Persistent");
            Api.Response saved = admin.put("/api/v1/tenants/" + tenant + "/network/policy",
                    Map.of("message", "before restart", "policy", policyWithOneEntry()), Map.of("If-Match", "\"1\""));
            assertThat(saved.status()).as(saved.text()).isEqualTo(200);
        } finally {
            first.getApplicationContext().close();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("app-role.password"))))
                .isEqualTo("rw-------");

        EmbeddedServer second = start();
        try {
            assertThat(second.getApplicationContext().getBean(AdminTokenBootstrap.class).generatedToken()).isEmpty();
            Api.Response current = api(second, adminToken).get("/api/v1/tenants/" + tenant + "/network/policy");
            assertThat(current.status()).isEqualTo(200);
            assertThat(current.map()).containsEntry("version", 2).containsEntry("message", "before restart");
        } finally {
            second.getApplicationContext().close();
        }
    }

    @Test
    void embeddedDatabaseFlushesEveryCommitToDisk() {
        EmbeddedServer server = start();
        try {
            Database database = server.getApplicationContext().getBean(Database.class);
            assertThat(database.<Object>asOwner(sql -> sql.fetchValue("show fsync"))).isEqualTo("on");
            assertThat(database.<Object>asOwner(sql -> sql.fetchValue("show synchronous_commit"))).isEqualTo("on");
            assertThat(database.<Object>asOwner(sql -> sql.fetchValue("show full_page_writes"))).isEqualTo("on");
        } finally {
            server.getApplicationContext().close();
        }
    }

    private static Map<String, Object> policyWithOneEntry() {
        return Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "off"),
                "inbound", Map.of(
                        "allowlist", List.of(Map.of("cidr", "203.0.113.0/24", "description", "office",
                                "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of("destinations", List.of(),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "defaultAction", "allow"),
                "tests", List.of());
    }
}
