package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.enforce.CommandRunner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: --check-config, --print-config, exit codes and one-line errors; no commands are run. */
class MainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    /** Fails the test if the command tried to run anything. */
    private static final CommandRunner NOTHING = (command, stdin) -> {
        throw new IOException("no command may run in this test: " + command);
    };

    private int run(Map<String, String> env, String... args) {
        return Main.run(args, env, NOTHING, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                new CountDownLatch(0));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void checkConfigReportsEachProblemByKeyAndExitsTwo() throws IOException {
        Path file = Files.writeString(dir.resolve("agent.yaml"), "backend: pf\ndriftCheckInterval: soon\n");

        int code = run(Map.of(), "--config", file.toString(), "--check-config");

        assertThat(code).isEqualTo(2);
        assertThat(err().lines()).containsExactly(
                "config: backend: \"pf\" is not one of auto, nftables, iptables, dry-run",
                "config: driftCheckInterval: \"soon\" is not a duration (use 30s, 5m, 1h, 500ms or PT30S)");
        assertThat(err()).doesNotContain("Exception", "\tat ");
    }

    @Test
    void checkConfigSaysOk() throws IOException {
        Path file = Files.writeString(dir.resolve("agent.yaml"), "backend: nftables\n");

        assertThat(run(Map.of(), "--config", file.toString(), "--check-config")).isZero();
        assertThat(out()).isEqualTo("configuration OK\n");
    }

    @Test
    void printConfigShowsTheEffectiveValuesWithTheTokenHidden() throws IOException {
        Path file = Files.writeString(dir.resolve("agent.yaml"), "server: cp.example.com:8443\ndriftCheckInterval: 10s\n");
        String token = "cfe1.secretpart." + "A".repeat(43);

        int code = run(Map.of("CLAWFENCE_AGENT_BACKEND", "iptables", "CLAWFENCE_AGENT_TOKEN", token),
                "--config", file.toString(), "--state-dir", "/srv/cf", "--print-config");

        assertThat(code).isZero();
        assertThat(out()).isEqualTo("""
                server: "cp.example.com:8443"
                token: "<set, hidden>"
                stateDir: "/srv/cf"
                backend: iptables
                driftCheckInterval: 10s
                confirmDeadline: 20s
                events:
                  enabled: true
                  nflogGroup: 100
                  rate: 1000
                  burst: 200
                  spoolDir: "/srv/cf/events"
                  spoolMaxBytes: 268435456
                  counterInterval: 10s
                """);
        assertThat(out()).doesNotContain("secretpart");
    }

    @Test
    void anUnknownFlagIsAUsageError() {
        assertThat(run(Map.of(), "--frobnicate")).isEqualTo(2);
        assertThat(err()).contains("Unknown option: '--frobnicate'");
    }

    @Test
    void aRuntimeFailureIsOneLineWithoutStackTrace() throws IOException {
        Files.writeString(dir.resolve("agent.yaml"), "");
        int code = run(Map.of(), "--config", dir.resolve("absent.yaml").toString(), "--backend", "nftables", "--uninstall");

        // --config names a missing file: that is a configuration error, found before any command runs.
        assertThat(code).isEqualTo(2);

        err.reset();
        code = run(Map.of(), "--config", dir.resolve("agent.yaml").toString(), "--backend", "nftables", "--uninstall");
        assertThat(code).isEqualTo(1);
        assertThat(err().lines()).singleElement().asString().startsWith("error: cannot run nft: no command may run in this test");
    }

    @Test
    void theJdkDefaultTrustStoreIsLeftEmptyUnlessTheOperatorNamesOne() throws Exception {
        String before = System.getProperty(Main.TRUST_STORE_PROPERTY);
        try {
            System.clearProperty(Main.TRUST_STORE_PROPERTY);
            assertThat(defaultTrustAnchors()).as("the JDK's cacerts, before").isNotEmpty();

            Main.withoutDefaultTrustStore();
            assertThat(defaultTrustAnchors()).isEmpty();

            System.setProperty(Main.TRUST_STORE_PROPERTY, "/etc/ssl/operator.p12");
            Main.withoutDefaultTrustStore();
            assertThat(System.getProperty(Main.TRUST_STORE_PROPERTY)).isEqualTo("/etc/ssl/operator.p12");
        } finally {
            if (before == null) {
                System.clearProperty(Main.TRUST_STORE_PROPERTY);
            } else {
                System.setProperty(Main.TRUST_STORE_PROPERTY, before);
            }
        }
    }

    /** The CAs a default trust manager accepts, read afresh from the trust store properties. */
    private static java.security.cert.X509Certificate[] defaultTrustAnchors() throws Exception {
        javax.net.ssl.TrustManagerFactory factory = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        factory.init((java.security.KeyStore) null);
        return ((javax.net.ssl.X509TrustManager) factory.getTrustManagers()[0]).getAcceptedIssuers();
    }

    @Test
    void processAgeIsTheTimeSinceExecToTenMilliseconds() {
        // The JVM's own clock starts a little after exec, so the process is at least that old; ProcessHandle's
        // start instant (boot time in whole seconds) was off by up to a second either way.
        long before = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
        long age = Main.processAgeMillis().orElseThrow();
        long after = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();

        assertThat(age).isBetween(before - 20, after + 2_000);
    }
}
