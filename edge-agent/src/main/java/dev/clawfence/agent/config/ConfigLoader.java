package dev.clawfence.agent.config;

import dev.clawfence.agent.enforce.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads the configuration: defaults, then the YAML file, then {@code CLAWFENCE_AGENT_*} environment
 * variables, then command-line flags (later wins). Every problem is collected, each naming its key,
 * e.g. {@code driftCheckInterval: "soon" is not a duration (use 30s, 5m, 1h or PT30S)}.
 */
public final class ConfigLoader {

    /** The configuration, or the problems that prevent it (never both). */
    public record Result(AgentConfig config, List<String> problems) {

        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /** The keys, with their environment variables. */
    public static final Map<String, String> ENVIRONMENT = new LinkedHashMap<>();

    static {
        ENVIRONMENT.put("server", "CLAWFENCE_AGENT_SERVER");
        ENVIRONMENT.put("token", "CLAWFENCE_AGENT_TOKEN");
        ENVIRONMENT.put("stateDir", "CLAWFENCE_AGENT_STATE_DIR");
        ENVIRONMENT.put("backend", "CLAWFENCE_AGENT_BACKEND");
        ENVIRONMENT.put("driftCheckInterval", "CLAWFENCE_AGENT_DRIFT_CHECK_INTERVAL");
        ENVIRONMENT.put("confirmDeadline", "CLAWFENCE_AGENT_CONFIRM_DEADLINE");
    }

    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Pattern SERVER = Pattern.compile("(\\[[0-9a-fA-F:.]+]|[A-Za-z0-9.-]+):(\\d{1,5})");

    private ConfigLoader() {}

    /**
     * @param file the YAML file; a missing file is a problem only when {@code explicit} (given with --config)
     * @param flags values from the command line by key (absent keys are not given)
     */
    public static Result load(Path file, boolean explicit, Map<String, String> env, Map<String, String> flags) {
        List<String> problems = new ArrayList<>();
        Map<String, String> values = new LinkedHashMap<>();
        readYaml(file, explicit, values, problems);
        ENVIRONMENT.forEach((key, variable) -> {
            String value = env.get(variable);
            if (value != null && !value.isEmpty()) {
                values.put(key, value);
            }
        });
        flags.forEach((key, value) -> {
            if (value != null) {
                values.put(key, value);
            }
        });
        AgentConfig d = AgentConfig.DEFAULTS;
        String server = values.getOrDefault("server", d.server());
        if (server != null && !validServer(server)) {
            problems.add("server: \"" + printable(server) + "\" is not HOST:PORT (port 1-65535), e.g. control.example.com:8443");
        }
        String token = values.getOrDefault("token", d.token());
        if (token != null && !token.matches("cfe1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}")) {
            problems.add("token: not an enrolment token (expected cfe1.<secret>.<pin>, as issued by the control plane)");
        }
        Path stateDir = d.stateDir();
        if (values.containsKey("stateDir")) {
            String text = values.get("stateDir");
            if (text.isBlank()) {
                problems.add("stateDir: must not be empty");
            } else {
                stateDir = Path.of(text);
                if (!stateDir.isAbsolute()) {
                    stateDir = stateDir.toAbsolutePath();
                }
            }
        }
        String backend = values.getOrDefault("backend", d.backend());
        if (!Backends.NAMES.contains(backend)) {
            problems.add("backend: \"" + printable(backend) + "\" is not one of " + String.join(", ", Backends.NAMES));
        }
        Duration drift = duration(values, "driftCheckInterval", d.driftCheckInterval(), Duration.ofMillis(100), problems);
        Duration confirm = duration(values, "confirmDeadline", d.confirmDeadline(), Duration.ofMillis(100), problems);
        if (!problems.isEmpty()) {
            return new Result(null, List.copyOf(problems));
        }
        return new Result(new AgentConfig(server, token, stateDir, backend, drift, confirm), List.of());
    }

    private static void readYaml(Path file, boolean explicit, Map<String, String> values, List<String> problems) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            if (explicit) {
                problems.add("--config: " + file + " does not exist");
            }
            return;
        } catch (IOException e) {
            problems.add("--config: cannot read " + file + ": " + e.getMessage());
            return;
        }
        Object root;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            options.setMaxAliasesForCollections(10);
            root = new Yaml(new SafeConstructor(options)).load(text);
        } catch (YAMLException e) {
            problems.add(file + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
            return;
        }
        if (root == null) {
            return;
        }
        if (!(root instanceof Map<?, ?> map)) {
            problems.add(file + ": expected a mapping of keys (server, stateDir, backend, ...)");
            return;
        }
        map.forEach((key, value) -> {
            String name = String.valueOf(key);
            if (!ENVIRONMENT.containsKey(name)) {
                problems.add(name + ": unknown key (known: " + String.join(", ", ENVIRONMENT.keySet()) + ")");
            } else if (value instanceof Map<?, ?> || value instanceof List<?>) {
                problems.add(name + ": expected a single value");
            } else if (value != null) {
                values.put(name, String.valueOf(value));
            }
        });
    }

    private static Duration duration(Map<String, String> values, String key, Duration fallback, Duration minimum, List<String> problems) {
        String text = values.get(key);
        if (text == null) {
            return fallback;
        }
        Duration duration = parseDuration(text.strip());
        if (duration == null) {
            problems.add(key + ": \"" + printable(text) + "\" is not a duration (use 30s, 5m, 1h, 500ms or PT30S)");
            return fallback;
        }
        if (duration.compareTo(minimum) < 0) {
            problems.add(key + ": " + format(duration) + " is too short (at least " + format(minimum) + ")");
        }
        return duration;
    }

    static Duration parseDuration(String text) {
        Matcher matcher = SHORT_DURATION.matcher(text);
        if (matcher.matches()) {
            long amount = Long.parseLong(matcher.group(1));
            return switch (matcher.group(2)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                default -> Duration.ofHours(amount);
            };
        }
        try {
            return Duration.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** {@code 30s}, {@code 5m}, {@code 500ms}: the form the loader reads back. */
    static String format(Duration duration) {
        long millis = duration.toMillis();
        if (millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        }
        if (millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        }
        if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }

    private static boolean validServer(String server) {
        Matcher matcher = SERVER.matcher(server);
        if (!matcher.matches()) {
            return false;
        }
        int port = Integer.parseInt(matcher.group(2));
        return port >= 1 && port <= 65535;
    }

    private static String printable(String text) {
        String clean = text.replaceAll("[^\\x20-\\x7e]", "?");
        return clean.length() <= 80 ? clean : clean.substring(0, 77) + "...";
    }
}
