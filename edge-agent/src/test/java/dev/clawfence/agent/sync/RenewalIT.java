package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.state.Store;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificate renewal with the shaded agent jar (dry-run backend: no firewall is touched) against the
 * TestGateway on loopback (127.0.0.1, a free port), over real gRPC and mutual TLS, with certificates
 * that live a few seconds: the agent renews with a new key before expiry, moves its Sync stream to the
 * new certificate, and a restart uses the stored renewed identity; a revoked instance's Renew is
 * refused, and once the certificate expires the agent says it must be enrolled again and keeps running.
 */
class RenewalIT {

    private static final String SECRET = "s3cret";

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stopAll() throws InterruptedException {
        for (Process process : processes) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static Path agentJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(file -> file.getFileName().toString().matches("clawfence-edge-agent-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IOException("the shaded agent jar is not built (mvn package)"))
                    .toAbsolutePath();
        }
    }

    private record Running(Process process, List<String> lines) {

        void stop() throws InterruptedException {
            process.destroy();
            assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("stopped").isTrue();
        }

        /** Lines from index {@code from} on that start with {@code prefix}. */
        List<String> since(int from, String prefix) {
            return lines.subList(from, lines.size()).stream().filter(line -> line.startsWith(prefix)).toList();
        }
    }

    private Running start(String name, List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        processes.add(process);
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                reader.lines().forEach(line -> {
                    lines.add(line);
                    System.out.println(name + ": " + line);
                });
            } catch (IOException | java.io.UncheckedIOException e) {
                // process ended
            }
        });
        return new Running(process, lines);
    }

    private Running gateway(TestCa ca, Duration lifetime, String... properties) throws IOException {
        Path caDir = Files.createDirectories(dir.resolve("ca"));
        List<String> command = new ArrayList<>(List.of(java(), "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
                "-Dcf.certLifetime=" + lifetime));
        command.addAll(List.of(properties));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), TestGateway.class.getName(), caDir.toString(), "127.0.0.1", "0", SECRET));
        try {
            ca.save(caDir);
        } catch (Exception e) {
            throw new IOException(e);
        }
        Running gateway = start("gateway", command);
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.lines().contains("READY") || !gateway.process().isAlive());
        assertThat(gateway.lines()).as("gateway started").contains("READY");
        return gateway;
    }

    private static int port(Running gateway) {
        return Integer.parseInt(gateway.lines().stream().filter(line -> line.startsWith("PORT ")).findFirst().orElseThrow().substring(5));
    }

    private Running agent(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(java(), "--sun-misc-unsafe-memory-access=allow", "-jar", agentJar().toString(), "--backend", "dry-run",
                "--config", Files.writeString(dir.resolve("agent.yaml"), "").toString(), "--state-dir", dir.resolve("state").toString()));
        command.addAll(List.of(args));
        return start("agent", command);
    }

    private static String token(TestCa ca) throws Exception {
        return "cfe1." + SECRET + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(EnrolmentToken.pinOf(ca.certificate.getEncoded()));
    }

    private String storedSerial() throws Exception {
        return new Store(dir.resolve("state")).identity().value().orElseThrow().certificate().getSerialNumber().toString(16);
    }

    @Test
    void aShortLivedCertificateIsRenewedUsedAtOnceAndAfterARestart() throws Exception {
        TestCa ca = new TestCa("Clawfence test CA");
        Running gateway = gateway(ca, Duration.ofSeconds(15));
        Running agent = agent("--server", "127.0.0.1:" + port(gateway), "--token", token(ca));

        await().atMost(Duration.ofSeconds(30)).until(() -> !gateway.since(0, "ENROLLED ").isEmpty());
        String enrolled = gateway.since(0, "ENROLLED ").getFirst().substring("ENROLLED serial=".length());
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.lines().contains("SYNC serial=" + enrolled));
        Instant enrolledAt = Instant.now();
        byte[] enrolledKey = new Store(dir.resolve("state")).identity().value().orElseThrow().privateKeyPkcs8();

        // Renewed at about 2/3 of 15 s, over the enrolled certificate, and the Sync stream moves to the new one.
        await().atMost(Duration.ofSeconds(30)).until(() -> !gateway.since(0, "RENEWED ").isEmpty());
        String renewal = gateway.since(0, "RENEWED ").getFirst();
        assertThat(Duration.between(enrolledAt, Instant.now())).as("not renewed right after enrolment").isGreaterThan(Duration.ofSeconds(5));
        assertThat(renewal).endsWith(" by=" + enrolled);
        String renewed = renewal.substring("RENEWED serial=".length(), renewal.indexOf(' ', "RENEWED serial=".length()));
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.lines().contains("SYNC serial=" + renewed));
        assertThat(agent.lines()).anyMatch(line -> line.contains("certificate renewed: serial " + renewed));
        assertThat(agent.lines()).anyMatch(line -> line.contains("sync stream ended to reconnect with the renewed certificate"));
        assertThat(new Store(dir.resolve("state")).identity().value().orElseThrow().privateKeyPkcs8()).as("a fresh key pair").isNotEqualTo(enrolledKey);

        // A restart calls with the stored (renewed) identity, even after the enrolled certificate expired. Its
        // first call is Sync, or Renew when the stored certificate is already due (on a slow machine).
        agent.stop();
        String stored = storedSerial();
        assertThat(stored).isNotEqualTo(enrolled);
        await().atMost(Duration.ofSeconds(20)).until(() -> Instant.now().isAfter(enrolledAt.plusSeconds(16)));
        int before = gateway.lines().size();
        Running restarted = agent();
        await().atMost(Duration.ofSeconds(30)).until(() -> !gateway.since(before, "SYNC serial=").isEmpty());
        String firstCall = gateway.lines().subList(before, gateway.lines().size()).stream()
                .filter(line -> line.startsWith("SYNC serial=") || line.startsWith("RENEWED ")).findFirst().orElseThrow();
        assertThat(firstCall).satisfiesAnyOf(line -> assertThat(line).isEqualTo("SYNC serial=" + stored),
                line -> assertThat(line).endsWith(" by=" + stored));
        assertThat(restarted.lines()).noneMatch(line -> line.contains("enrolling"));
        restarted.stop();
        assertThat(agent.lines()).noneMatch(line -> line.contains("Z error: ") || line.contains("Z warning: "));
    }

    @Test
    void aRevokedInstanceIsRefusedRenewalAndIsToldToEnrolAgainWhenItsCertificateExpires() throws Exception {
        TestCa ca = new TestCa("Clawfence test CA");
        new Store(dir.resolve("state")).saveApplied(TestPolicies.update(9, TestPolicies.inbound("203.0.113.2/32")));
        Path revoked = dir.resolve("revoked");
        Running gateway = gateway(ca, Duration.ofSeconds(8), "-Dcf.revokedFile=" + revoked);
        Running agent = agent("--server", "127.0.0.1:" + port(gateway), "--token", token(ca));
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.lines().stream().anyMatch(line -> line.startsWith("SYNC serial=")));
        Files.writeString(revoked, "revoked by the test");

        await().atMost(Duration.ofSeconds(20)).until(() -> agent.lines().stream().anyMatch(line -> line.contains("refused to renew")));
        assertThat(agent.lines()).anyMatch(line -> line.contains("Z error: the control plane refused to renew the certificate: PERMISSION_DENIED: "
                + "instance instance-1 has been revoked; enrol the host again with a new token; retrying at "));
        assertThat(gateway.lines()).contains("RENEW refused: revoked").noneMatch(line -> line.startsWith("RENEWED "));

        await().atMost(Duration.ofSeconds(20)).until(() -> agent.lines().stream().anyMatch(line -> line.contains("certificate expired")));
        assertThat(agent.lines()).anyMatch(line -> line.contains("Z error: the agent's certificate expired at ")
                && line.contains("until it is enrolled again with a new token") && line.contains("the agent keeps enforcing"));
        // Fail-static: still running, still enforcing the stored policy.
        assertThat(agent.process().isAlive()).isTrue();
        assertThat(agent.lines()).anyMatch(line -> line.contains("enforcing stored policy version 9"));
        assertThat(new Store(dir.resolve("state")).identity().value()).isPresent();
        agent.stop();
    }
}
