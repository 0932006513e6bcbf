package dev.clawfence.controlplane.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.controlplane.support.TestServer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane killed with -9 leaves its embedded PostgreSQL running on the data directory; the
 * next start on that directory must stop the orphan and come up instead of failing.
 */
class OrphanedPostmasterIT {

    @TempDir
    Path dataDir;

    private final int httpPort = TestServer.freePort();

    @Test
    void aStartAfterKillMinusNineTakesOverTheDataDirectory() throws Exception {
        Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
        Optional<ProcessHandle> orphan = Optional.empty();
        try {
            Process first = startChildControlPlane();
            try {
                try {
                    await().atMost(Duration.ofSeconds(90)).until(() -> Files.exists(pidFile) && isReady(first));
                } catch (ConditionTimeoutException e) {
                    throw new AssertionError("the first control plane did not become ready; its log:\n"
                            + Files.readString(dataDir.resolve("first-run.log")), e);
                }
            } finally {
                first.destroyForcibly().waitFor();
            }
            orphan = ProcessHandle.of(postmasterPid(pidFile));
            assertThat(orphan).as("the killed control plane left its PostgreSQL running").isPresent();
            assertThat(orphan.get().isAlive()).isTrue();

            EmbeddedServer second = ApplicationContext.run(EmbeddedServer.class, Map.of(
                    "micronaut.server.port", -1,
                    "grpc.server.port", TestServer.freePort(),
                    "clawfence.data-dir", dataDir.toString(),
                    "clawfence.agent-gateway.port", 0,
                    "clawfence.admin-token", ""));
            try {
                assertThat(second.getApplicationContext().getBean(Database.class).isReady()).isTrue();
                assertThat(orphan.get().isAlive()).isFalse();
                assertThat(postmasterPid(pidFile)).isNotEqualTo(orphan.get().pid());
            } finally {
                second.getApplicationContext().close();
            }
        } finally {
            orphan.filter(ProcessHandle::isAlive).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private Process startChildControlPlane() throws IOException {
        ProcessBuilder builder = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"),
                "dev.clawfence.controlplane.Main"));
        builder.environment().put("CLAWFENCE_DATA_DIR", dataDir.toString());
        builder.environment().put("MICRONAUT_SERVER_PORT", String.valueOf(httpPort));
        builder.environment().put("GRPC_SERVER_PORT", String.valueOf(TestServer.freePort()));
        // Not the default 50052: a control plane or benchmark running on this machine may hold it.
        builder.environment().put("CLAWFENCE_AGENT_GATEWAY_PORT", "0");
        builder.environment().put("CLAWFENCE_ADMIN_TOKEN", "cf_orphan_test_admin_token_0123456789abcdef");
        builder.redirectErrorStream(true).redirectOutput(dataDir.resolve("first-run.log").toFile());
        return builder.start();
    }

    private boolean isReady(Process process) throws InterruptedException {
        assertThat(process.isAlive()).as("the first control plane exited early; see first-run.log").isTrue();
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<Void> response = client.send(
                    HttpRequest.newBuilder(URI.create("http://localhost:" + httpPort + "/health/readiness")).build(),
                    HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    private static long postmasterPid(Path pidFile) throws IOException {
        return Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
    }
}
