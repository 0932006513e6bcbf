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
        assertThat(err().lines()).containsExactly("error: unknown option '--frobnicate'", "Try 'clawfence-agent --help' for the options.");
        assertThat(out()).isEmpty();
    }

    @Test
    void aPrefixOfAFlagIsNotTakenForTheFlag() {
        assertThat(run(Map.of(), "--conf", "x.yaml", "--check-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: unknown option '--conf'\n");
    }

    @Test
    void aValueCanFollowTheFlagOrAnEqualsSign() throws IOException {
        Path file = Files.writeString(dir.resolve("agent.yaml"), "backend: nftables\n");

        assertThat(run(Map.of(), "--config=" + file, "--state-dir=/srv/a=b", "--backend", "dry-run", "--print-config")).isZero();
        assertThat(out()).contains("stateDir: \"/srv/a=b\"\n", "backend: dry-run\n");
        assertThat(err()).isEmpty();
    }

    @Test
    void aFlagWithoutItsValueNamesTheFlagAndWhatItExpects() {
        assertThat(run(Map.of(), "--print-config", "--config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --config: missing value (FILE)\n");

        err.reset();
        // The next flag is not taken as the value.
        assertThat(run(Map.of(), "--state-dir", "--print-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --state-dir: missing value (DIR)\n");
        assertThat(out()).isEmpty();
    }

    @Test
    void aFlagGivenTwiceIsAUsageError() {
        assertThat(run(Map.of(), "--backend", "nftables", "--backend=iptables", "--print-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --backend: given more than once\n");

        err.reset();
        assertThat(run(Map.of(), "--verbose", "--print-config", "--verbose")).isEqualTo(2);
        assertThat(err()).startsWith("error: --verbose: given more than once\n");
    }

    @Test
    void aSwitchTakesNoValueAndStrayArgumentsAreRefused() {
        assertThat(run(Map.of(), "--check-config=yes")).isEqualTo(2);
        assertThat(err()).startsWith("error: --check-config: takes no value, got 'yes'\n");

        err.reset();
        assertThat(run(Map.of(), "--print-config", "agent.yaml")).isEqualTo(2);
        assertThat(err()).startsWith("error: unexpected argument 'agent.yaml' (every value belongs to a flag, e.g. --config FILE)\n");
        assertThat(out()).isEmpty();
    }

    @Test
    void theTestOnlyNumbersAreChecked() {
        assertThat(run(Map.of(), "--dev-synthetic-events", "many", "--print-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --dev-synthetic-events: 'many' is not a whole number\n");

        err.reset();
        assertThat(run(Map.of(), "--dev-synthetic-rate=0", "--print-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --dev-synthetic-rate: 0 is outside 1..2147483647\n");

        err.reset();
        assertThat(run(Map.of(), "--dev-synthetic-rate", "4294967296", "--print-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --dev-synthetic-rate: 4294967296 is outside 1..2147483647\n");
    }

    @Test
    void aConfigPathThatIsNoFileNameIsAUsageError() {
        assertThat(run(Map.of(), "--config", "agent\0.yaml", "--check-config")).isEqualTo(2);
        assertThat(err()).startsWith("error: --config: not a file name (Nul character not allowed)\n");
    }

    @Test
    void helpListsTheOptionsInOrderWithoutTheTestOnlyOnes() {
        assertThat(run(Map.of(), "--help")).isZero();
        String help = out();

        assertThat(help).startsWith("Usage: clawfence-agent [OPTIONS]");
        assertThat(help).contains("Enforces this host's Clawfence network policy", "Exit codes: 0 done, 1 failed at run time, 2 bad");
        assertThat(help).containsSubsequence("--config <FILE>", "--server <HOST:PORT>", "--token <TOKEN>", "--state-dir <DIR>",
                "--backend <NAME>", "--check-config", "--print-config", "--uninstall", "--verbose", "-h, --help", "-V, --version");
        assertThat(help).doesNotContain("dev-synthetic");
        assertThat(help.lines()).allSatisfy(line -> assertThat(line).hasSizeLessThanOrEqualTo(80).doesNotEndWith(" "));
        assertThat(err()).isEmpty();

        out.reset();
        assertThat(run(Map.of(), "-h")).isZero();
        assertThat(out()).isEqualTo(help);
    }

    @Test
    void versionPrintsTheNameAndVersion() {
        assertThat(run(Map.of(), "--version")).isZero();
        // Tests run from classes, without the jar's manifest.
        assertThat(out()).isEqualTo("clawfence-agent dev\n");
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
