package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.Namespaces;
import dev.clawfence.agent.state.Store;
import dev.clawfence.policy.render.Netns;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded agent jar enrols over real gRPC + TLS between two network namespaces: the gateway runs in
 * one (203.0.113.1:8443), the agent in the other. A token pinning another CA, or a server certificate
 * for another host, is refused before the token is sent; later starts need only --state-dir.
 */
class EnrolmentIT {

    private static final String SECRET = "s3cret";

    @TempDir
    Path dir;

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

    private static String token(TestCa ca) throws Exception {
        return "cfe1." + SECRET + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(EnrolmentToken.pinOf(ca.certificate.getEncoded()));
    }

    /** Runs the agent jar in the peer namespace and collects its output lines. */
    private record Running(Process process, List<String> lines) {

        void stop() throws InterruptedException {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Running agent(Namespaces ns, String... args) throws IOException {
        return agentIn(ns, "dry-run", args);
    }

    private Running agentIn(Namespaces ns, String backend, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(java(), "--sun-misc-unsafe-memory-access=allow", "-jar", agentJar().toString(), "--backend", backend,
                "--config", Files.writeString(dir.resolve("agent.yaml"), "").toString()));
        command.addAll(List.of(args));
        Process process = ns.peer.start(command);
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                reader.lines().forEach(line -> {
                    lines.add(line);
                    System.out.println("agent: " + line);
                });
            } catch (IOException e) {
                // process ended
            }
        });
        return new Running(process, lines);
    }

    private record Gateway(Process process, List<String> lines) {}

    private Gateway gateway(Namespaces ns, Path caDir, String... extra) throws IOException {
        return gateway(ns, caDir, null, extra);
    }

    private Gateway gateway(Namespaces ns, Path caDir, Path policy, String... extra) throws IOException {
        List<String> command = new ArrayList<>(List.of(java(), "--sun-misc-unsafe-memory-access=allow"));
        if (policy != null) {
            command.add("-Dcf.policy=" + policy);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), TestGateway.class.getName(),
                caDir.toString(), "203.0.113.1", "8443", SECRET));
        command.addAll(List.of(extra));
        Process process = ns.host.start(command);
        BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line = reader.readLine(); line != null && !line.equals("READY"); line = reader.readLine()) {
            seen.add(line);
        }
        assertThat(process.isAlive()).as("gateway start: %s", seen).isTrue();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> reader.lines().forEach(line -> {
            lines.add(line);
            System.out.println("gateway: " + line);
        }));
        return new Gateway(process, lines);
    }

    @Test
    void anEnrolledAgentGetsItsPolicyOverMutualTlsAndEnforcesIt() throws Exception {
        Netns.assumeAvailable();
        TestCa ca = new TestCa("Clawfence test CA");
        ca.save(dir);
        Path state = dir.resolve("state");
        // The peer (the agent's host) lets in only the gateway's address; its own outbound stays open.
        Path policy = Files.write(dir.resolve("policy.bin"),
                dev.clawfence.agent.TestPolicies.update(5, dev.clawfence.agent.TestPolicies.inbound("203.0.113.1/32")).toByteArray());
        try (Namespaces ns = Namespaces.create()) {
            Gateway gateway = gateway(ns, dir, policy);
            try {
                Running agent = agentIn(ns, "nftables", "--server", "203.0.113.1:8443", "--token", token(ca), "--state-dir", state.toString());
                await().atMost(Duration.ofSeconds(30)).until(() -> gateway.lines().stream().anyMatch(line -> line.startsWith("RESULT ")));
                assertThat(gateway.lines()).contains("SYNC client-certificate=true", "HELLO applied=0");
                String result = gateway.lines().stream().filter(line -> line.startsWith("RESULT ")).findFirst().orElseThrow();
                assertThat(result).startsWith("RESULT APPLIED 5 ");
                assertThat(ns.peer.exec(List.of("nft", "list", "tables")).output()).contains("table inet clawfence");
                agent.stop();
                assertThat(new Store(state).lastApplied().value().orElseThrow().getVersion()).isEqualTo(5);
                // Stopping leaves the ruleset in force.
                assertThat(ns.peer.exec(List.of("nft", "list", "tables")).output()).contains("table inet clawfence");
            } finally {
                gateway.process().destroyForcibly();
            }
        }
    }

    @Test
    void theAgentEnrolsOnceAndLaterStartsNeedOnlyTheStateDir() throws Exception {
        Netns.assumeAvailable();
        TestCa ca = new TestCa("Clawfence test CA");
        ca.save(dir);
        Path state = dir.resolve("state");
        try (Namespaces ns = Namespaces.create()) {
            Process gateway = gateway(ns, dir).process();
            try {
                Running first = agent(ns, "--server", "203.0.113.1:8443", "--token", token(ca), "--state-dir", state.toString());
                await().atMost(Duration.ofSeconds(20)).until(() -> first.lines().stream().anyMatch(line -> line.contains("enrolled with")));
                first.stop();
                assertThat(String.join("\n", first.lines())).doesNotContain(SECRET);

                Identity identity = new Store(state).identity().value().orElseThrow();
                assertThat(identity.server()).isEqualTo("203.0.113.1:8443");
                List<X509Certificate> chain = identity.chain();
                assertThat(chain.getLast()).isEqualTo(ca.certificate);
                chain.getFirst().verify(ca.keys.getPublic());
                assertThat(Files.getPosixFilePermissions(state.resolve("identity.bin")).toString()).isEqualTo("[OWNER_READ, OWNER_WRITE]");

                Running second = agent(ns, "--state-dir", state.toString());
                await().atMost(Duration.ofSeconds(20)).until(() -> second.lines().stream().anyMatch(line -> line.contains("syncing with 203.0.113.1:8443 as instance ")));
                second.stop();
                assertThat(second.lines()).noneMatch(line -> line.contains("enrolling"));
            } finally {
                gateway.destroyForcibly();
            }
        }
    }

    @Test
    void aServerThatIsNotThePinnedCasIsRefused() throws Exception {
        Netns.assumeAvailable();
        TestCa ca = new TestCa("Clawfence test CA");
        TestCa rogue = new TestCa("Clawfence test CA");
        rogue.save(dir);
        Path state = dir.resolve("state");
        try (Namespaces ns = Namespaces.create()) {
            Process gateway = gateway(ns, dir).process();
            try {
                Running agent = agent(ns, "--server", "203.0.113.1:8443", "--token", token(ca), "--state-dir", state.toString());
                assertThat(agent.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

                assertThat(agent.process().exitValue()).isEqualTo(1);
                await().atMost(Duration.ofSeconds(2)).until(() -> agent.lines().stream().anyMatch(line -> line.startsWith("error: ")));
                assertThat(agent.lines().stream().filter(line -> line.startsWith("error: ")).findFirst().orElseThrow())
                        .contains("enrolment with 203.0.113.1:8443 failed").contains("pinned");
                assertThat(agent.lines()).noneMatch(line -> line.contains("\tat "));
                assertThat(new Store(state).identity().value()).isEmpty();
            } finally {
                gateway.destroyForcibly();
            }
        }
    }

    @Test
    void aServerCertificateForAnotherHostIsRefused() throws Exception {
        Netns.assumeAvailable();
        TestCa ca = new TestCa("Clawfence test CA");
        ca.save(dir);
        Path state = dir.resolve("state");
        try (Namespaces ns = Namespaces.create()) {
            Process gateway = gateway(ns, dir, "192.0.2.99").process();
            try {
                Running agent = agent(ns, "--server", "203.0.113.1:8443", "--token", token(ca), "--state-dir", state.toString());
                assertThat(agent.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

                assertThat(agent.process().exitValue()).isEqualTo(1);
                await().atMost(Duration.ofSeconds(2)).until(() -> agent.lines().stream().anyMatch(line -> line.startsWith("error: ")));
                assertThat(agent.lines()).anyMatch(line -> line.contains("the server's certificate is not for 203.0.113.1"));
                assertThat(new Store(state).identity().value()).isEmpty();
            } finally {
                gateway.destroyForcibly();
            }
        }
    }
}
