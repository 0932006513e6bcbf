package dev.clawfence.agent.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.state.Store;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded jar started as the unit starts it ({@code java -jar}, no native-access flag: the manifest
 * grants it) with {@code NOTIFY_SOCKET} pointing at a socket the test binds, as systemd would for a
 * {@code Type=notify} service (systemd itself cannot run in this container). Dry-run backend, no server.
 */
class SystemdNotifyIT {

    @TempDir
    Path dir;

    private static Path agentJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(file -> file.getFileName().toString().matches("clawfence-edge-agent-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IOException("the shaded agent jar is not built (mvn package)"))
                    .toAbsolutePath();
        }
    }

    @Test
    void theJarSendsReadyAfterEnforcingTheStoredPolicyAndStoppingOnSigterm() throws Exception {
        Path state = dir.resolve("state");
        new Store(state).saveApplied(TestPolicies.update(9, TestPolicies.inbound("203.0.113.2/32")));
        Path output = dir.resolve("agent.out");
        try (NotifySocket socket = NotifySocket.bindPath(dir.resolve("notify"))) {
            ProcessBuilder builder = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "--sun-misc-unsafe-memory-access=allow", "-jar", agentJar().toString(), "--backend", "dry-run",
                    "--config", Files.writeString(dir.resolve("agent.yaml"), "").toString(), "--state-dir", state.toString()))
                    .redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().put("NOTIFY_SOCKET", socket.name());
            Process agent = builder.start();
            try {
                String ready = socket.receive(Duration.ofSeconds(30));

                assertThat(ready).startsWith("READY=1\nSTATUS=enforcing stored policy version 9 (dry-run ruleset ");
                assertThat(socket.receive(Duration.ofSeconds(10))).isEqualTo("STATUS=not enrolled (no server and token): enforcing policy version 9\n");
                agent.destroy();
                assertThat(agent.waitFor(20, TimeUnit.SECONDS)).isTrue();
                assertThat(socket.receive(Duration.ofSeconds(5))).isEqualTo("STOPPING=1\nSTATUS=stopping; the ruleset stays in force\n");
            } finally {
                agent.destroyForcibly();
            }
        }
        String printed = Files.readString(output, StandardCharsets.UTF_8);
        System.out.print(printed);
        assertThat(printed).contains("enforcing stored policy version 9").doesNotContain("WARNING").doesNotContain("warning:");
    }
}
