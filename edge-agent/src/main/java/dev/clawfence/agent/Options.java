package dev.clawfence.agent;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code clawfence-agent} command line: eleven flags, each at most once, as {@code --flag VALUE} or
 * {@code --flag=VALUE}; no positional arguments. Parsed by hand rather than with an option library: the one
 * used before (picocli) stayed loaded for the life of the agent, ~170 classes and ~1 MiB of resident memory
 * for a single parse at start (BENCHMARKS.md, "Edge agent footprint").
 */
record Options(Path config, String server, String token, String stateDir, String backend, boolean checkConfig,
        boolean printConfig, boolean uninstall, boolean verbose, boolean help, boolean version) {

    static final String COMMAND = "clawfence-agent";

    /** A flag; {@code label} names its value, or is null for a switch. */
    private record Flag(String shortName, String name, String label, String description) {

        String names() {
            return (shortName == null ? "    " : shortName + ", ") + name + (label == null ? "" : "=" + label);
        }

        /** How error messages name it, as the flag and its value's label. */
        String quoted() {
            return "'" + name + "'" + (label == null ? "" : " (" + label + ")");
        }
    }

    private static final List<Flag> FLAGS = List.of(
            new Flag(null, "--config", "FILE", "YAML configuration file (default: /etc/clawfence/agent.yaml, optional)."),
            new Flag(null, "--server", "HOST:PORT", "Control plane address (env CLAWFENCE_AGENT_SERVER)."),
            new Flag(null, "--token", "TOKEN", "One-time enrolment token cfe1.<secret>.<pin> (env CLAWFENCE_AGENT_TOKEN)."),
            new Flag(null, "--state-dir", "DIR", "State directory (default /var/lib/clawfence; env CLAWFENCE_AGENT_STATE_DIR)."),
            new Flag(null, "--backend", "NAME", "auto, nftables, iptables or dry-run (env CLAWFENCE_AGENT_BACKEND)."),
            new Flag(null, "--check-config", null, "Validate the configuration, print every problem by key, exit 2 on error."),
            new Flag(null, "--print-config", null, "Print the effective configuration as YAML (token hidden) and exit."),
            new Flag(null, "--uninstall", null, "Remove the agent's ruleset (table inet clawfence, or its iptables chains and ipsets) and exit."),
            new Flag(null, "--verbose", null, "Show stack traces with errors."),
            new Flag("-h", "--help", null, "Show this help message and exit."),
            new Flag("-V", "--version", null, "Print version information and exit."));

    /** Bad usage: the message names the flag or argument and what is wrong with it. */
    static final class UsageException extends Exception {

        UsageException(String message) {
            super(message);
        }
    }

    /** The flags in {@code args}; a flag not given is null or false. */
    static Options parse(String[] args) throws UsageException {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            int equals = arg.indexOf('=');
            String name = arg.startsWith("--") && equals > 0 ? arg.substring(0, equals) : arg;
            Flag flag = find(name);
            if (flag == null) {
                throw new UsageException(arg.startsWith("-") && arg.length() > 1
                        ? "Unknown option: '" + name + "'"
                        : "Unmatched argument at index " + i + ": '" + arg + "'");
            }
            if (values.containsKey(flag.name())) {
                throw new UsageException("option " + flag.quoted() + " should be specified only once");
            }
            String value;
            if (flag.label() == null) {
                if (name.length() != arg.length()) {
                    throw new UsageException("option " + flag.quoted() + " takes no value, got '" + arg.substring(equals + 1) + "'");
                }
                value = "true";
            } else if (name.length() != arg.length()) {
                value = arg.substring(equals + 1);
            } else if (i + 1 < args.length && find(args[i + 1]) == null) {
                value = args[++i];
            } else {
                throw new UsageException("Missing required parameter for option " + flag.quoted());
            }
            values.put(flag.name(), value);
        }
        Path config = null;
        if (values.containsKey("--config")) {
            try {
                config = Path.of(values.get("--config"));
            } catch (InvalidPathException e) {
                throw new UsageException("Invalid value for option '--config' (FILE): " + e.getMessage());
            }
        }
        return new Options(config, values.get("--server"), values.get("--token"), values.get("--state-dir"), values.get("--backend"),
                values.containsKey("--check-config"), values.containsKey("--print-config"), values.containsKey("--uninstall"),
                values.containsKey("--verbose"), values.containsKey("--help"), values.containsKey("--version"));
    }

    private static Flag find(String name) {
        for (Flag flag : FLAGS) {
            if (flag.name().equals(name) || name.equals(flag.shortName())) {
                return flag;
            }
        }
        return null;
    }

    /** The help text: synopsis, what the command does, one entry per flag; wrapped at 80 columns. */
    static String usage() {
        StringBuilder synopsis = new StringBuilder("Usage: " + COMMAND + " [-hV]");
        for (Flag flag : FLAGS) {
            if (flag.shortName() == null) {
                synopsis.append(" [").append(flag.name()).append(flag.label() == null ? "" : "=" + flag.label()).append(']');
            }
        }
        StringBuilder text = new StringBuilder();
        wrap(text, synopsis.toString(), ("Usage: " + COMMAND + " ").length());
        wrap(text, "Enforces this host's Clawfence network policy with nftables (iptables + ipset as fallback).", 0);
        wrap(text, "Reads /etc/clawfence/agent.yaml (or --config) and CLAWFENCE_AGENT_* environment variables; flags win.", 0);
        int column = 2 + FLAGS.stream().mapToInt(flag -> flag.names().length()).max().orElse(0) + 3;
        for (Flag flag : FLAGS) {
            String head = "  " + flag.names();
            wrap(text, head + " ".repeat(column - head.length()) + flag.description(), column + 2);
        }
        return text.toString();
    }

    private static final int WIDTH = 80;

    /** Appends {@code line} broken at spaces into lines of at most 80 columns, the continuations indented. */
    private static void wrap(StringBuilder text, String line, int indent) {
        String rest = line;
        while (rest.length() > WIDTH) {
            int cut = rest.lastIndexOf(' ', WIDTH);
            if (cut <= indent) {
                break;
            }
            text.append(rest, 0, cut).append('\n');
            rest = " ".repeat(indent) + rest.substring(cut + 1);
        }
        text.append(rest).append('\n');
    }
}
