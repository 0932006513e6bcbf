package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.systemd.NotifySocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent tells systemd it is ready only once the stored policy is in force (or there is none to
 * enforce), through a real AF_UNIX datagram socket; the dry-run backend runs no command.
 */
class ReadinessTest {

    @TempDir
    Path state;

    private static final CommandRunner NOTHING = (command, stdin) -> {
        throw new IOException("no command may run in this test: " + command);
    };

    /** Runs the agent with NOTIFY_SOCKET set; returns its READY datagram, and what it had printed by then in {@code printedAtReady}. */
    private String readyMessage(NotifySocket socket, String statusAfter, String[] printedAtReady) throws Exception {
        Path config = Files.writeString(state.resolveSibling(state.getFileName() + ".yaml"), "");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CountDownLatch stop = new CountDownLatch(1);
        Future<Integer> running;
        String ready;
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
            running = executor.submit(() -> Main.run(new String[] {"--config", config.toString(), "--state-dir", state.toString(), "--backend", "dry-run"},
                    Map.of("NOTIFY_SOCKET", socket.name()), NOTHING, print, print, stop));
            ready = socket.receive(Duration.ofSeconds(20));
            printedAtReady[0] = out.toString(StandardCharsets.UTF_8);
            assertThat(socket.receive(Duration.ofSeconds(20))).as("status after READY").isEqualTo("STATUS=" + statusAfter + "\n");
            stop.countDown();
        }
        assertThat(running.get()).isZero();
        assertThat(socket.receive(Duration.ofSeconds(5))).isEqualTo("STOPPING=1\nSTATUS=stopping; the ruleset stays in force\n");
        return ready;
    }

    @Test
    void readyComesAfterTheStoredPolicyIsEnforced() throws Exception {
        new Store(state).saveApplied(TestPolicies.update(9, TestPolicies.inbound("203.0.113.2/32")));
        String[] printedAtReady = new String[1];
        try (NotifySocket socket = NotifySocket.bindAbstract()) {
            String ready = readyMessage(socket, "not enrolled (no server and token): enforcing policy version 9", printedAtReady);

            assertThat(ready).startsWith("READY=1\nSTATUS=enforcing stored policy version 9 (dry-run ruleset ");
            assertThat(printedAtReady[0]).as("what the agent had logged when systemd heard READY=1")
                    .contains("dry-run: would apply").contains("enforcing stored policy version 9");
        }
    }

    @Test
    void withoutAStoredPolicyReadyComesAtOnceSoBootNeverWaits() throws Exception {
        String[] printedAtReady = new String[1];
        try (NotifySocket socket = NotifySocket.bindAbstract()) {
            String ready = readyMessage(socket, "not enrolled (no server and token): enforcing no policy yet", printedAtReady);

            assertThat(ready).isEqualTo("READY=1\nSTATUS=no stored policy: nothing is enforced until the control plane sends one\n");
        }
    }

    @Test
    void aStoredPolicyThatCannotBeEnforcedStillSendsReady() throws Exception {
        Files.write(state.resolve("policy.bin"), new byte[] {'C', 'F', 'S', '1', 0});
        String[] printedAtReady = new String[1];
        try (NotifySocket socket = NotifySocket.bindAbstract()) {
            String ready = readyMessage(socket, "not enrolled (no server and token): enforcing no policy yet", printedAtReady);

            assertThat(ready).startsWith("READY=1\nSTATUS=no policy enforced: ").contains("policy.bin is damaged");
        }
    }
}
