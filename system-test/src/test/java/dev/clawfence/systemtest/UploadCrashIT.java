package dev.clawfence.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 4's crash test: the real agent jar appends {@value #TOTAL} synthetic events to its real spool
 * ({@code --dev-synthetic-events}) and uploads them to the real control-plane jar (embedded PostgreSQL),
 * while this test kills (-9) the control plane {@value #CONTROL_PLANE_KILLS} times and the agent
 * {@value #AGENT_KILLS} times, in a random order at random moments, and restarts each. Afterwards the
 * database holds every event exactly once: count, distinct (instance, sequence), 1..total, no losses, and
 * the rollups count each once.
 *
 * <p>Everything runs on loopback with ports picked free; no root is needed. The rate
 * ({@code -Dcrash.rate}, events per second) is set so that the kills fall while events are generated on
 * this 2-core machine; the seed of the kill schedule is printed ({@code -Dcrash.seed} repeats one).
 */
class UploadCrashIT {

    static final long TOTAL = 1_000_000;
    static final int CONTROL_PLANE_KILLS = 10;
    static final int AGENT_KILLS = 10;
    private static final int RATE = Integer.getInteger("crash.rate", 6_000);
    private static final String ADMIN_TOKEN = "cf_upload-crash-test-admin-token";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Path controlPlaneJar = jar("control-plane", "clawfence-control-plane-0.1.0-SNAPSHOT.jar");
    private final Path agentJar = jar("edge-agent", "clawfence-edge-agent-0.1.0-SNAPSHOT.jar");
    private Path dir;
    private int httpPort;
    private int grpcPort;
    private int gatewayPort;
    private Process controlPlane;
    private Process agent;
    private int agentStarts;

    @AfterEach
    void cleanUp() throws Exception {
        kill(agent);
        if (controlPlane != null && controlPlane.isAlive()) {
            controlPlane.destroy();
            if (!controlPlane.waitFor(30, TimeUnit.SECONDS)) {
                kill(controlPlane);
            }
        }
        // A control plane killed last leaves its PostgreSQL behind: stop it, as the next start would.
        postmaster().ifPresent(pg -> {
            pg.destroy();
            pg.onExit().orTimeout(30, TimeUnit.SECONDS).join();
        });
        if (dir != null) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void everyEventIsStoredExactlyOnceThroughKillsOfBothSides() throws Exception {
        dir = Files.createTempDirectory("cf-upload-crash");
        httpPort = freePort();
        grpcPort = freePort();
        gatewayPort = freePort();
        long seed = Long.getLong("crash.seed", new SecureRandom().nextLong());
        Random random = new Random(seed);
        System.out.printf(Locale.ROOT, "crash test: %d events at %d/s, seed %d, data in %s%n", TOTAL, RATE, seed, dir);

        startControlPlane();
        String tenant = post("/tenants", ADMIN_TOKEN, Map.of("name", "crash test")).get("id").asText();
        String token = post("/tenants/" + tenant + "/api-tokens", ADMIN_TOKEN, Map.of("name", "crash", "role", "owner")).get("token").asText();
        String enrolment = post("/tenants/" + tenant + "/enrollment-tokens", token, Map.of("description", "crash")).get("token").asText();
        startAgent(List.of("--server", "127.0.0.1:" + gatewayPort, "--token", enrolment));
        // Enrolled (identity stored) before any kill: a kill during enrolment would need a second token.
        awaitLog(agentLog(), "syncing with", Duration.ofSeconds(60));

        List<Boolean> kills = new ArrayList<>();
        for (int i = 0; i < CONTROL_PLANE_KILLS + AGENT_KILLS; i++) {
            kills.add(i < CONTROL_PLANE_KILLS);
        }
        Collections.shuffle(kills, random);
        long started = System.nanoTime();
        long mark = storedThrough();
        for (boolean killControlPlane : kills) {
            // Every kill falls while events flow: after the last restart, the mark must have moved.
            long before = mark;
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50)).until(() -> storedThrough() > before);
            // The pause is the random kill moment, not a wait for a condition. Right after a restart the
            // agent sends its backlog in full batches, so kills fall mid-batch.
            Thread.sleep(Duration.ofMillis(random.nextInt(1_500)));
            mark = storedThrough();
            System.out.printf(Locale.ROOT, "%5.1f s: stored through %d; kill -9 the %s%n", seconds(started), mark,
                    killControlPlane ? "control plane" : "agent");
            if (killControlPlane) {
                kill(controlPlane);
                startControlPlane();
            } else {
                kill(agent);
                startAgent(List.of());
            }
        }
        System.out.printf(Locale.ROOT, "%5.1f s: %d kills done; waiting for the rest%n", seconds(started), kills.size());

        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1)).until(() -> storedThrough() >= TOTAL);
        System.out.printf(Locale.ROOT, "%5.1f s: all %d stored%n", seconds(started), TOTAL);

        String log = Files.readString(agentLog());
        assertThat(log).as("the generator's progress across agent restarts").doesNotContain("error: synthetic events");
        assertThat(log).containsPattern("synthetic events: all " + TOTAL + " generated");
        try (Connection db = database()) {
            assertThat(longs(db, "select count(*), count(distinct (instance_id, sequence)), min(sequence), max(sequence) from connection_events"))
                    .as("count, distinct (instance, sequence), first, last").containsExactly(TOTAL, TOTAL, 1L, TOTAL);
            assertThat(longs(db, "select count(distinct instance_id), 0, 0, 0 from connection_events")).startsWith(1L);
            assertThat(longs(db, "select coalesce(sum(last_sequence - first_sequence + 1), 0), count(*), 0, 0 from event_losses"))
                    .as("losses reported by the spool").containsExactly(0L, 0L, 0L, 0L);
            assertThat(longs(db, "select stored_through, events_stored, events_lost, events_expired + events_clamped from event_ingest_marks"))
                    .containsExactly(TOTAL, TOTAL, 0L, 0L);
            // The rollups too: what each killed control plane held in memory was added up again from the
            // stored events (PendingRollups), and the running one writes what it holds within its interval.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> longs(db, "select rolled_up_through, 0, 0, 0 from event_ingest_marks").getFirst() == TOTAL);
            assertThat(longs(db, """
                    select (select sum(events) from event_counts_minute),
                           (select sum(allowed + blocked + would_block) from traffic_sources_hourly),
                           (select sum(allowed + blocked + would_block) from traffic_destinations_hourly),
                           (select count(*) from connection_events where direction = 'inbound')"""))
                    .as("events counted per minute, inbound by source, outbound by destination, inbound stored")
                    .satisfies(sums -> {
                        assertThat(sums.get(0)).isEqualTo(TOTAL);
                        assertThat(sums.get(1)).isEqualTo(sums.get(3));
                        assertThat(sums.get(1) + sums.get(2)).isEqualTo(TOTAL);
                    });
        }
        assertThat(agentStarts).isEqualTo(AGENT_KILLS + 1);
    }

    /**
     * BENCHMARKS.md, "Event upload": with {@code -Dupload.bench.events=N}, the agent spools N events while
     * the control plane is stopped, then the control plane starts and the time from the first stored
     * batch to the last is measured (the drain rate of the spool into the table through UploadEvents).
     */
    @Test
    void drainRateOfASpooledBacklog() throws Exception {
        Long events = Long.getLong("upload.bench.events");
        org.junit.jupiter.api.Assumptions.assumeTrue(events != null, "a benchmark: run with -Dupload.bench.events=N");
        dir = Files.createTempDirectory("cf-upload-bench");
        httpPort = freePort();
        grpcPort = freePort();
        gatewayPort = freePort();
        startControlPlane();
        String tenant = post("/tenants", ADMIN_TOKEN, Map.of("name", "upload bench")).get("id").asText();
        String token = post("/tenants/" + tenant + "/api-tokens", ADMIN_TOKEN, Map.of("name", "bench", "role", "owner")).get("token").asText();
        String enrolment = post("/tenants/" + tenant + "/enrollment-tokens", token, Map.of("description", "bench")).get("token").asText();
        startAgent(List.of("--server", "127.0.0.1:" + gatewayPort, "--token", enrolment), 0, 1);
        awaitLog(agentLog(), "syncing with", Duration.ofSeconds(60));
        agent.destroy();
        agent.waitFor(30, TimeUnit.SECONDS);
        controlPlane.destroy();
        controlPlane.waitFor(60, TimeUnit.SECONDS);
        startAgent(List.of(), events, 10_000_000);
        awaitLog(agentLog(), "synthetic events: all " + events + " generated", Duration.ofMinutes(5));
        startControlPlane();
        long[] first = {-1};
        long[] firstAt = {0};
        await().pollInterval(Duration.ofMillis(20)).atMost(Duration.ofMinutes(10)).until(() -> {
            long mark = storedThrough();
            if (first[0] < 0 && mark > 0) {
                first[0] = mark;
                firstAt[0] = System.nanoTime();
            }
            return mark >= events;
        });
        double seconds = seconds(firstAt[0]);
        System.out.printf(Locale.ROOT, "upload drain: %d events stored in %.2f s after the first batch of %d: %.0f events/s%n",
                events - first[0], seconds, first[0], (events - first[0]) / seconds);
    }

    // ---------------------------------------------------------------- the two processes

    private void startControlPlane() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(java(), "-Xmx768m", "-XX:+UseSerialGC", "--sun-misc-unsafe-memory-access=allow",
                "-jar", controlPlaneJar.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("control-plane.log").toFile()));
        builder.environment().putAll(Map.of("CLAWFENCE_DATA_DIR", dir.resolve("control-plane").toString(), "CLAWFENCE_ADMIN_TOKEN", ADMIN_TOKEN,
                "MICRONAUT_SERVER_PORT", String.valueOf(httpPort), "GRPC_SERVER_PORT", String.valueOf(grpcPort),
                "CLAWFENCE_AGENT_GATEWAY_PORT", String.valueOf(gatewayPort)));
        Process process = builder.start();
        controlPlane = process;
        try {
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the control plane exited with " + process.exitValue());
                }
                return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            });
        } catch (RuntimeException e) {
            throw new AssertionError("the control plane did not become healthy; its log ends:\n" + tail(dir.resolve("control-plane.log")), e);
        }
    }

    private void startAgent(List<String> enrol) throws IOException {
        startAgent(enrol, TOTAL, RATE);
    }

    private void startAgent(List<String> enrol, long events, int rate) throws IOException {
        Path config = dir.resolve("agent.yaml");
        if (!Files.exists(config)) {
            Files.writeString(config, "");
        }
        List<String> command = new ArrayList<>(List.of(java(), "-Xmx128m", "-XX:+UseSerialGC", "--sun-misc-unsafe-memory-access=allow",
                "-jar", agentJar.toString(), "--backend", "dry-run", "--config", config.toString(),
                "--state-dir", dir.resolve("agent").toString()));
        if (events > 0) {
            command.addAll(List.of("--dev-synthetic-events", String.valueOf(events), "--dev-synthetic-rate", String.valueOf(rate)));
        }
        command.addAll(enrol);
        agent = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(agentLog().toFile())).start();
        agentStarts++;
    }

    private Path agentLog() {
        return dir.resolve("agent.log");
    }

    private static void kill(Process process) throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The PostgreSQL the control plane runs on its data directory, if one is up. */
    private java.util.Optional<ProcessHandle> postmaster() {
        if (dir == null) {
            return java.util.Optional.empty();
        }
        try {
            List<String> lines = Files.readAllLines(dir.resolve("control-plane").resolve("postgres").resolve("postmaster.pid"));
            return ProcessHandle.of(Long.parseLong(lines.getFirst().strip())).filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().commandLine().map(c -> c.contains("postgres")).orElse(false));
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    // ---------------------------------------------------------------- the database and the API

    /** The embedded PostgreSQL of the running control plane, as its superuser (which row-level security does not hide rows from). */
    private Connection database() throws SQLException, IOException {
        List<String> pid = Files.readAllLines(dir.resolve("control-plane").resolve("postgres").resolve("postmaster.pid"));
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + pid.get(3).strip() + "/postgres", "postgres", "postgres");
    }

    private long storedThrough() {
        try (Connection db = database()) {
            return longs(db, "select coalesce(max(stored_through), 0), 0, 0, 0 from event_ingest_marks").getFirst();
        } catch (SQLException | IOException | RuntimeException e) {
            return -1;
        }
    }

    private static List<Long> longs(Connection db, String sql) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql); ResultSet rs = s.executeQuery()) {
            rs.next();
            return List.of(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
        }
    }

    private JsonNode post(String path, String token, Object body) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/api/v1" + path))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("POST %s: %s", path, response.body()).isBetween(200, 299);
        return JSON.readTree(response.body());
    }

    // ---------------------------------------------------------------- helpers

    private static void awaitLog(Path log, String text, Duration within) {
        try {
            await().atMost(within).pollInterval(Duration.ofMillis(100)).until(() -> Files.exists(log) && Files.readString(log).contains(text));
        } catch (RuntimeException e) {
            throw new AssertionError("\"" + text + "\" did not appear in " + log + "; it ends:\n" + tail(log), e);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static Path jar(String module, String name) {
        Path jar = Path.of("..", module, "target", name).toAbsolutePath().normalize();
        assertThat(jar).as("the %s jar (built by its module)", module).exists();
        return jar;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
