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
        ENVIRONMENT.put("events.enabled", "CLAWFENCE_AGENT_EVENTS_ENABLED");
        ENVIRONMENT.put("events.nflogGroup", "CLAWFENCE_AGENT_EVENTS_NFLOG_GROUP");
        ENVIRONMENT.put("events.rate", "CLAWFENCE_AGENT_EVENTS_RATE");
        ENVIRONMENT.put("events.burst", "CLAWFENCE_AGENT_EVENTS_BURST");
        ENVIRONMENT.put("events.spoolDir", "CLAWFENCE_AGENT_EVENTS_SPOOL_DIR");
        ENVIRONMENT.put("events.spoolMaxBytes", "CLAWFENCE_AGENT_EVENTS_SPOOL_MAX_BYTES");
        ENVIRONMENT.put("events.counterInterval", "CLAWFENCE_AGENT_EVENTS_COUNTER_INTERVAL");
    }

    /** Sections of the file: a mapping whose keys are read as {@code <section>.<key>}. */
    private static final List<String> SECTIONS = List.of("events");

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
        EventsConfig events = events(values, problems);
        if (!problems.isEmpty()) {
            return new Result(null, List.copyOf(problems));
        }
        return new Result(new AgentConfig(server, token, stateDir, backend, drift, confirm, events), List.of());
    }

    private static EventsConfig events(Map<String, String> values, List<String> problems) {
        EventsConfig d = EventsConfig.DEFAULTS;
        boolean enabled = d.enabled();
        String enabledText = values.get("events.enabled");
        if (enabledText != null) {
            switch (enabledText.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> enabled = true;
                case "false" -> enabled = false;
                default -> problems.add("events.enabled: \"" + printable(enabledText) + "\" is not true or false");
            }
        }
        int group = (int) number(values, "events.nflogGroup", d.nflogGroup(), 0, 65535, problems);
        int rate = (int) number(values, "events.rate", d.rate(), 1, 1_000_000, problems);
        int burst = (int) number(values, "events.burst", d.burst(), 1, 1_000_000, problems);
        long maxBytes = number(values, "events.spoolMaxBytes", d.spoolMaxBytes(), 16L << 20, 1L << 40, problems);
        Path spoolDir = d.spoolDir();
        String dir = values.get("events.spoolDir");
        if (dir != null) {
            if (dir.isBlank()) {
                problems.add("events.spoolDir: must not be empty (leave it out for <stateDir>/events)");
            } else {
                spoolDir = Path.of(dir).toAbsolutePath();
            }
        }
        Duration counterInterval = duration(values, "events.counterInterval", d.counterInterval(), Duration.ofMillis(100), problems);
        return new EventsConfig(enabled, group, rate, burst, spoolDir, maxBytes, counterInterval);
    }

    private static long number(Map<String, String> values, String key, long fallback, long min, long max, List<String> problems) {
        String text = values.get(key);
        if (text == null) {
            return fallback;
        }
        long value;
        try {
            value = Long.parseLong(text.strip().replace("_", ""));
        } catch (NumberFormatException e) {
            problems.add(key + ": \"" + printable(text) + "\" is not a whole number");
            return fallback;
        }
        if (value < min || value > max) {
            problems.add(key + ": " + value + " is out of range (" + min + "-" + max + ")");
            return fallback;
        }
        return value;
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
            if (SECTIONS.contains(name) && value instanceof Map<?, ?> section) {
                section.forEach((subKey, subValue) -> {
                    String sub = name + "." + subKey;
                    if (!ENVIRONMENT.containsKey(sub)) {
                        problems.add(sub + ": unknown key (known: " + String.join(", ", ENVIRONMENT.keySet().stream()
                                .filter(known -> known.startsWith(name + ".")).toList()) + ")");
                    } else if (subValue instanceof Map<?, ?> || subValue instanceof List<?>) {
                        problems.add(sub + ": expected a single value");
                    } else if (subValue != null) {
                        values.put(sub, String.valueOf(subValue));
                    }
                });
            } else if (SECTIONS.contains(name) && value != null) {
                problems.add(name + ": expected a section of keys (" + String.join(", ", ENVIRONMENT.keySet().stream()
                        .filter(known -> known.startsWith(name + ".")).toList()) + ")");
            } else if (!ENVIRONMENT.containsKey(name) || name.contains(".")) {
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
