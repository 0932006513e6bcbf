package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.state.Store;
import dev.clawfence.policy.render.Netns;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command inside a namespace: a start with only --state-dir enforces the stored policy; --uninstall removes only the agent's table. */
class MainIT {

    @TempDir
    Path state;

    @Test
    void aStartWithOnlyTheStateDirEnforcesTheStoredPolicyAndUninstallRemovesOnlyItsTable() throws Exception {
        Netns.assumeAvailable();
        new Store(state).saveApplied(TestPolicies.update(9, TestPolicies.inbound("203.0.113.2/32")));
        try (Namespaces ns = Namespaces.create()) {
            Namespaces.run(ns.host, "nft", "add", "table", "inet", "other");
            Path config = java.nio.file.Files.writeString(state.resolveSibling(state.getFileName() + ".yaml"), "driftCheckInterval: 1s\nevents:\n  enabled: false\n");
            CommandRunner runner = CommandRunner.inNamespace(ns.host.name());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            CountDownLatch stop = new CountDownLatch(1);
            Future<Integer> running;
            try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
                running = executor.submit(() -> Main.run(new String[] {"--config", config.toString(), "--state-dir", state.toString()},
                        Map.of(), runner, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8), stop));
                await().atMost(Duration.ofSeconds(5)).until(() -> out.toString(StandardCharsets.UTF_8).contains("enforcing stored policy version 9"));
                assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");
                stop.countDown();
            }
            assertThat(running.get()).isZero();
            String printed = out.toString(StandardCharsets.UTF_8);
            System.out.print(printed);
            assertThat(printed).contains("stopping; the ruleset stays in force");
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");

            ByteArrayOutputStream uninstall = new ByteArrayOutputStream();
            int code = Main.run(new String[] {"--config", config.toString(), "--uninstall", "--state-dir", state.toString()}, Map.of(), runner,
                    new PrintStream(uninstall, true, StandardCharsets.UTF_8), System.err, new CountDownLatch(0));

            assertThat(code).isZero();
            assertThat(uninstall.toString(StandardCharsets.UTF_8)).startsWith("removed the nftables ruleset of Clawfence");
            assertThat(ns.host.exec(List.of("nft", "list", "tables")).output().strip()).isEqualTo("table inet other");
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("OK");
        }
    }
}
