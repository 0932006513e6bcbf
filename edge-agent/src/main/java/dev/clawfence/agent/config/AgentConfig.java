package dev.clawfence.agent.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The agent's effective configuration (immutable). Keys, in YAML and as environment variables:
 * <ul>
 *   <li>{@code server} / {@code CLAWFENCE_AGENT_SERVER}: the control plane's gRPC address,
 *       {@code HOST:PORT}; none means "enforce the stored policy only".
 *   <li>{@code token} / {@code CLAWFENCE_AGENT_TOKEN}: a one-time enrolment token ({@code cfe1.…});
 *       never printed.
 *   <li>{@code stateDir} / {@code CLAWFENCE_AGENT_STATE_DIR}: default {@code /var/lib/clawfence}.
 *   <li>{@code backend} / {@code CLAWFENCE_AGENT_BACKEND}: {@code auto} (default), {@code nftables},
 *       {@code iptables} or {@code dry-run}.
 *   <li>{@code driftCheckInterval} / {@code CLAWFENCE_AGENT_DRIFT_CHECK_INTERVAL}: default {@code 30s}.
 *   <li>{@code confirmDeadline} / {@code CLAWFENCE_AGENT_CONFIRM_DEADLINE}: default {@code 20s}.
 * </ul>
 */
public record AgentConfig(String server, String token, Path stateDir, String backend, Duration driftCheckInterval, Duration confirmDeadline) {

    public static final Path DEFAULT_FILE = Path.of("/etc/clawfence/agent.yaml");
    public static final AgentConfig DEFAULTS = new AgentConfig(null, null, Path.of("/var/lib/clawfence"), "auto",
            Duration.ofSeconds(30), Duration.ofSeconds(20));

    /** The configuration as YAML, the token masked: what {@code --print-config} shows. */
    public String toYaml() {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("server", server == null ? "null" : quote(server));
        values.put("token", token == null ? "null" : "\"<set, hidden>\"");
        values.put("stateDir", quote(stateDir.toString()));
        values.put("backend", backend);
        values.put("driftCheckInterval", ConfigLoader.format(driftCheckInterval));
        values.put("confirmDeadline", ConfigLoader.format(confirmDeadline));
        StringBuilder out = new StringBuilder();
        values.forEach((key, value) -> out.append(key).append(": ").append(value).append('\n'));
        return out.toString();
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
