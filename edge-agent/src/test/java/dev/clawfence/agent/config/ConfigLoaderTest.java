package dev.clawfence.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Defaults, then the YAML file, then the environment, then flags; every problem named by its key. */
class ConfigLoaderTest {

    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        return Files.writeString(dir.resolve("agent.yaml"), text);
    }

    @Test
    void withoutAFileTheDefaultsApply() {
        ConfigLoader.Result result = ConfigLoader.load(dir.resolve("absent.yaml"), false, Map.of(), Map.of());

        assertThat(result.problems()).isEmpty();
        assertThat(result.config()).isEqualTo(AgentConfig.DEFAULTS);
    }

    @Test
    void theEnvironmentOverridesTheFileAndFlagsOverrideBoth() throws IOException {
        Path file = yaml("""
                server: cp.example.com:8443
                stateDir: /srv/state-from-file
                backend: iptables
                driftCheckInterval: 10s
                """);
        Map<String, String> env = Map.of("CLAWFENCE_AGENT_STATE_DIR", "/srv/state-from-env", "CLAWFENCE_AGENT_BACKEND", "dry-run",
                "CLAWFENCE_AGENT_CONFIRM_DEADLINE", "PT45S");

        AgentConfig config = ConfigLoader.load(file, true, env, Map.of("backend", "nftables")).config();

        assertThat(config.server()).isEqualTo("cp.example.com:8443");
        assertThat(config.stateDir()).isEqualTo(Path.of("/srv/state-from-env"));
        assertThat(config.backend()).isEqualTo("nftables");
        assertThat(config.driftCheckInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.confirmDeadline()).isEqualTo(Duration.ofSeconds(45));
    }

    @Test
    void everyProblemIsReportedWithItsKey() throws IOException {
        Path file = yaml("""
                server: no-port-here
                backend: pf
                driftCheckInterval: soon
                confirmDeadline: 10ms
                colour: blue
                """);

        ConfigLoader.Result result = ConfigLoader.load(file, true, Map.of(), Map.of());

        assertThat(result.config()).isNull();
        assertThat(result.problems()).satisfiesExactlyInAnyOrder(
                p -> assertThat(p).startsWith("colour: unknown key"),
                p -> assertThat(p).startsWith("server: \"no-port-here\" is not HOST:PORT"),
                p -> assertThat(p).startsWith("backend: \"pf\" is not one of auto, nftables, iptables, dry-run"),
                p -> assertThat(p).startsWith("driftCheckInterval: \"soon\" is not a duration"),
                p -> assertThat(p).startsWith("confirmDeadline: 10ms is too short"));
    }

    @Test
    void theEventsSectionIsReadFromTheFileAndTheEnvironment() throws IOException {
        Path file = yaml("""
                events:
                  enabled: false
                  nflogGroup: 7
                  burst: 50
                  spoolDir: /srv/spool
                  counterInterval: 2s
                """);

        AgentConfig config = ConfigLoader.load(file, true, Map.of("CLAWFENCE_AGENT_EVENTS_RATE", "250"), Map.of()).config();

        assertThat(config.events()).isEqualTo(new EventsConfig(false, 7, 250, 50, Path.of("/srv/spool"), 256L << 20, Duration.ofSeconds(2)));
        assertThat(config.events().logging()).isEqualTo(new dev.clawfence.policy.render.EventLogging(false, 7, 250, 50));
        assertThat(AgentConfig.DEFAULTS.events().spoolDir(Path.of("/var/lib/clawfence"))).isEqualTo(Path.of("/var/lib/clawfence/events"));
    }

    @Test
    void everyEventsProblemIsReportedWithItsKey() throws IOException {
        Path file = yaml("""
                events:
                  enabled: maybe
                  nflogGroup: 70000
                  rate: lots
                  burst: 0
                  spoolMaxBytes: 1024
                  counterInterval: soon
                  colour: blue
                """);

        ConfigLoader.Result result = ConfigLoader.load(file, true, Map.of(), Map.of());

        assertThat(result.problems()).containsExactlyInAnyOrder(
                "events.colour: unknown key (known: events.enabled, events.nflogGroup, events.rate, events.burst, events.spoolDir, "
                        + "events.spoolMaxBytes, events.counterInterval)",
                "events.enabled: \"maybe\" is not true or false",
                "events.nflogGroup: 70000 is out of range (0-65535)",
                "events.rate: \"lots\" is not a whole number",
                "events.burst: 0 is out of range (1-1000000)",
                "events.spoolMaxBytes: 1024 is out of range (16777216-1099511627776)",
                "events.counterInterval: \"soon\" is not a duration (use 30s, 5m, 1h, 500ms or PT30S)");
        assertThat(ConfigLoader.load(yaml("events: 5\n"), true, Map.of(), Map.of()).problems()).singleElement().asString()
                .startsWith("events: expected a section of keys");
    }

    @Test
    void anExplicitFileMustExist() {
        ConfigLoader.Result result = ConfigLoader.load(dir.resolve("absent.yaml"), true, Map.of(), Map.of());

        assertThat(result.problems()).singleElement().asString().startsWith("--config: ").contains("does not exist");
    }

    @Test
    void brokenYamlIsOneProblem() throws IOException {
        ConfigLoader.Result result = ConfigLoader.load(yaml("server: [unclosed"), true, Map.of(), Map.of());

        assertThat(result.problems()).singleElement().asString().contains("not valid YAML");
    }

    @Test
    void aMalformedTokenIsRefusedWithoutEchoingIt() {
        ConfigLoader.Result result = ConfigLoader.load(dir.resolve("absent.yaml"), false, Map.of("CLAWFENCE_AGENT_TOKEN", "s3cret"), Map.of());

        assertThat(result.problems()).singleElement().asString().startsWith("token: ").doesNotContain("s3cret");
    }

    @ParameterizedTest
    @CsvSource({"30s,PT30S", "5m,PT5M", "1h,PT1H", "500ms,PT0.5S", "PT2M,PT2M"})
    void durations(String text, String expected) {
        assertThat(ConfigLoader.parseDuration(text)).isEqualTo(Duration.parse(expected));
        assertThat(ConfigLoader.parseDuration(ConfigLoader.format(Duration.parse(expected)))).isEqualTo(Duration.parse(expected));
    }
}
