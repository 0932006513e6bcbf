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
 *   <li>{@code events:} a section ({@link EventsConfig}): {@code enabled} (true), {@code nflogGroup} (100),
 *       {@code rate} (1000), {@code burst} (200), {@code spoolDir} ({@code <stateDir>/events}),
 *       {@code spoolMaxBytes} (268435456), {@code counterInterval} (10s); environment
 *       {@code CLAWFENCE_AGENT_EVENTS_ENABLED}, {@code ..._EVENTS_NFLOG_GROUP}, {@code ..._EVENTS_RATE},
 *       {@code ..._EVENTS_BURST}, {@code ..._EVENTS_SPOOL_DIR}, {@code ..._EVENTS_SPOOL_MAX_BYTES},
 *       {@code ..._EVENTS_COUNTER_INTERVAL}.
 * </ul>
 */
public record AgentConfig(String server, String token, Path stateDir, String backend, Duration driftCheckInterval, Duration confirmDeadline,
        EventsConfig events) {

    public static final Path DEFAULT_FILE = Path.of("/etc/clawfence/agent.yaml");
    public static final AgentConfig DEFAULTS = new AgentConfig(null, null, Path.of("/var/lib/clawfence"), "auto",
            Duration.ofSeconds(30), Duration.ofSeconds(20), EventsConfig.DEFAULTS);

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
        out.append("events:\n");
        out.append("  enabled: ").append(events.enabled()).append('\n');
        out.append("  nflogGroup: ").append(events.nflogGroup()).append('\n');
        out.append("  rate: ").append(events.rate()).append('\n');
        out.append("  burst: ").append(events.burst()).append('\n');
        out.append("  spoolDir: ").append(quote(events.spoolDir(stateDir).toString())).append('\n');
        out.append("  spoolMaxBytes: ").append(events.spoolMaxBytes()).append('\n');
        out.append("  counterInterval: ").append(ConfigLoader.format(events.counterInterval())).append('\n');
        return out.toString();
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
