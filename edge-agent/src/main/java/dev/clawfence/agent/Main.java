package dev.clawfence.agent;

import dev.clawfence.agent.config.AgentConfig;
import dev.clawfence.agent.config.ConfigLoader;
import dev.clawfence.agent.enforce.Backends;
import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.CountingEnforcer;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.agent.events.Events;
import java.util.concurrent.atomic.AtomicReference;
import dev.clawfence.agent.state.Store;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.agent.connections.ProcNetTcp;
import dev.clawfence.agent.sync.ControlPlaneConnection;
import dev.clawfence.agent.events.SyntheticEvents;
import dev.clawfence.agent.sync.EnrolmentClient;
import dev.clawfence.agent.sync.EventUploader;
import dev.clawfence.agent.sync.Renewal;
import dev.clawfence.agent.sync.SyncClient;
import dev.clawfence.agent.systemd.SystemdNotifier;
import java.security.SecureRandom;
import java.time.Duration;
import dev.clawfence.agent.sync.EnrolmentException;
import dev.clawfence.agent.sync.EnrolmentToken;
import dev.clawfence.agent.sync.Identity;
import java.io.IOException;
import java.util.Optional;
import java.util.OptionalLong;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.MissingArgumentException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.UnrecognizedOptionException;
import org.apache.commons.cli.help.HelpFormatter;
import org.apache.commons.cli.help.TextHelpAppendable;

/**
 * The {@code clawfence-agent} command. Exit codes: 0 done, 1 failed at run time, 2 bad configuration or
 * usage. Errors are one line on standard error; {@code --verbose} adds the stack trace.
 */
public final class Main implements Callable<Integer> {

    /** How often the host's connection summary goes to the control plane (the full list goes on request). */
    private static final Duration CONNECTION_SUMMARY_EVERY = Duration.ofSeconds(60);

    static final String NAME = "clawfence-agent";

    private static final String DESCRIPTION = "Enforces this host's Clawfence network policy with nftables (iptables + ipset as fallback). "
            + "Reads /etc/clawfence/agent.yaml (or --config) and CLAWFENCE_AGENT_* environment variables; flags win.";

    private static final String EXIT_CODES = "Exit codes: 0 done, 1 failed at run time, 2 bad configuration or usage.";

    private static final Option CONFIG = valued("config", "FILE", "YAML configuration file (default: /etc/clawfence/agent.yaml, optional).");
    private static final Option SERVER = valued("server", "HOST:PORT", "Control plane address (env CLAWFENCE_AGENT_SERVER).");
    private static final Option TOKEN = valued("token", "TOKEN", "One-time enrolment token cfe1.<secret>.<pin> (env CLAWFENCE_AGENT_TOKEN).");
    private static final Option STATE_DIR = valued("state-dir", "DIR", "State directory (default /var/lib/clawfence; env CLAWFENCE_AGENT_STATE_DIR).");
    private static final Option BACKEND = valued("backend", "NAME", "auto, nftables, iptables or dry-run (env CLAWFENCE_AGENT_BACKEND).");
    private static final Option CHECK_CONFIG = flag(null, "check-config", "Validate the configuration, print every problem by key, exit 2 on error.");
    private static final Option PRINT_CONFIG = flag(null, "print-config", "Print the effective configuration as YAML (token hidden) and exit.");
    private static final Option UNINSTALL = flag(null, "uninstall",
            "Remove the agent's ruleset (table inet clawfence, or its iptables chains and ipsets) and exit.");
    private static final Option VERBOSE = flag(null, "verbose", "Show stack traces with errors.");
    private static final Option HELP = flag("h", "help", "Show this help message and exit.");
    private static final Option VERSION = flag("V", "version", "Print version information and exit.");
    // Test only (docs/events.md), left out of --help: events made up by the agent itself, through the spool and upload path.
    private static final Option SYNTHETIC_EVENTS = valued("dev-synthetic-events", "N",
            "Test only: append synthetic events to the spool until it has issued N sequence numbers in all (across restarts).");
    private static final Option SYNTHETIC_RATE = valued("dev-synthetic-rate", "PER_SECOND", "Test only: synthetic events per second (default 10000).");

    /** What --help lists, in this order. */
    private static final List<Option> SHOWN = List.of(CONFIG, SERVER, TOKEN, STATE_DIR, BACKEND, CHECK_CONFIG, PRINT_CONFIG, UNINSTALL, VERBOSE, HELP, VERSION);

    private static final Options OPTIONS = new Options();

    static {
        SHOWN.forEach(OPTIONS::addOption);
        OPTIONS.addOption(SYNTHETIC_EVENTS);
        OPTIONS.addOption(SYNTHETIC_RATE);
    }

    private static Option valued(String name, String argName, String description) {
        return Option.builder().longOpt(name).hasArg().argName(argName).desc(description).get();
    }

    private static Option flag(String shortName, String name, String description) {
        return Option.builder(shortName).longOpt(name).desc(description).get();
    }

    Path config;
    String server;
    String token;
    String stateDir;
    String backend;
    boolean checkConfig;
    boolean printConfig;
    boolean uninstall;
    boolean verbose;
    Long syntheticEvents;
    int syntheticRate = 10_000;

    private final Map<String, String> env;
    private final CommandRunner runner;
    private final PrintStream out;
    private final PrintStream err;
    private final CountDownLatch stop;
    private boolean justEnrolled;

    Main(Map<String, String> env, CommandRunner runner, PrintStream out, PrintStream err, CountDownLatch stop) {
        this.env = env;
        this.runner = runner;
        this.out = out;
        this.err = err;
        this.stop = stop;
    }

    public static void main(String[] args) {
        withoutDefaultTrustStore();
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(1);
        // SIGTERM: let the run loop log and close before the JVM halts; the ruleset stays in force.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                finished.await(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "shutdown"));
        int code = run(args, System.getenv(), CommandRunner.local(), System.out, System.err, stop);
        finished.countDown();
        System.exit(code);
    }

    /** The system property naming the JDK's default trust store. */
    static final String TRUST_STORE_PROPERTY = "javax.net.ssl.trustStore";

    /**
     * Gives the JDK's default TLS context an empty trust store, unless the operator named one. The agent
     * trusts only the control plane's CA pinned by its enrolment token ({@code PinnedTrust}), on every
     * connection; but grpc-okhttp builds the JDK's default context once, only to find the TLS provider, and
     * that parses the ~150 public CAs of {@code cacerts} and keeps them for the life of the process: ~2 MiB of
     * an idle agent (BENCHMARKS.md, "Edge agent footprint"). {@code NONE} is the JDK's own word for a trust
     * store without a file.
     */
    static void withoutDefaultTrustStore() {
        if (System.getProperty(TRUST_STORE_PROPERTY) == null) {
            System.setProperty(TRUST_STORE_PROPERTY, "NONE");
        }
    }

    /** Runs the command with everything it touches passed in (tests run it inside a namespace). */
    static int run(String[] args, Map<String, String> env, CommandRunner runner, PrintStream out, PrintStream err, CountDownLatch stop) {
        Main main = new Main(env, runner, out, err, stop);
        CommandLine line;
        try {
            line = DefaultParser.builder().setAllowPartialMatching(false).get().parse(OPTIONS, args);
            main.take(line);
        } catch (ParseException | UsageException e) {
            err.println("error: " + usageProblem(e));
            err.println("Try '" + NAME + " --help' for the options.");
            return 2;
        }
        if (line.hasOption(HELP)) {
            out.print(help());
            return 0;
        }
        if (line.hasOption(VERSION)) {
            out.println(NAME + " " + Version.VERSION);
            return 0;
        }
        try {
            return main.call();
        } catch (Exception e) {
            // One line, whatever the exception's message holds.
            err.println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()).replaceAll("\\s*\\R\\s*", " "));
            if (main.verbose) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** A command line that parses but cannot be used; the message names the flag. */
    private static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** The parse problem in words that name the flag as it was typed. */
    private static String usageProblem(Exception e) {
        if (e instanceof MissingArgumentException missing) {
            return "--" + missing.getOption().getLongOpt() + ": missing value (" + missing.getOption().getArgName() + ")";
        }
        if (e instanceof UnrecognizedOptionException unknown) {
            String typed = unknown.getOption();
            int equals = typed.indexOf('=');
            if (equals > 0 && OPTIONS.hasLongOption(typed.substring(0, equals)) && !OPTIONS.getOption(typed.substring(0, equals)).hasArg()) {
                return typed.substring(0, equals) + ": takes no value, got '" + typed.substring(equals + 1) + "'";
            }
            return "unknown option '" + typed + "'";
        }
        return e.getMessage();
    }

    /** Copies the parsed flags into the fields {@link #call()} reads. */
    private void take(CommandLine line) throws UsageException {
        if (!line.getArgList().isEmpty()) {
            throw new UsageException("unexpected argument '" + line.getArgList().getFirst() + "' (every value belongs to a flag, e.g. --config FILE)");
        }
        // commons-cli keeps every occurrence; a flag given twice is more likely a mistake than an override.
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Option option : line.getOptions()) {
            if (!seen.add(option.getLongOpt())) {
                throw new UsageException("--" + option.getLongOpt() + ": given more than once");
            }
        }
        try {
            config = line.hasOption(CONFIG) ? Path.of(line.getOptionValue(CONFIG)) : null;
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException("--config: not a file name (" + e.getReason() + ")");
        }
        server = line.getOptionValue(SERVER);
        token = line.getOptionValue(TOKEN);
        stateDir = line.getOptionValue(STATE_DIR);
        backend = line.getOptionValue(BACKEND);
        checkConfig = line.hasOption(CHECK_CONFIG);
        printConfig = line.hasOption(PRINT_CONFIG);
        uninstall = line.hasOption(UNINSTALL);
        verbose = line.hasOption(VERBOSE);
        if (line.hasOption(SYNTHETIC_EVENTS)) {
            syntheticEvents = number(SYNTHETIC_EVENTS, line.getOptionValue(SYNTHETIC_EVENTS), 0, Long.MAX_VALUE);
        }
        if (line.hasOption(SYNTHETIC_RATE)) {
            syntheticRate = (int) number(SYNTHETIC_RATE, line.getOptionValue(SYNTHETIC_RATE), 1, Integer.MAX_VALUE);
        }
    }

    private static long number(Option option, String value, long min, long max) throws UsageException {
        long parsed;
        try {
            parsed = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + option.getLongOpt() + ": '" + value + "' is not a whole number");
        }
        if (parsed < min || parsed > max) {
            throw new UsageException("--" + option.getLongOpt() + ": " + parsed + " is outside " + min + ".." + max);
        }
        return parsed;
    }

    /** What --help prints: usage, description, the options (not the test-only ones) and the exit codes. */
    static String help() {
        StringBuilder text = new StringBuilder();
        TextHelpAppendable appendable = new TextHelpAppendable(text);
        appendable.setLeftPad(0);
        appendable.setIndent(0);
        // The order of SHOWN (most used first), not alphabetical.
        HelpFormatter formatter = HelpFormatter.builder().setShowSince(false).setHelpAppendable(appendable).setComparator(java.util.Comparator.comparingInt(SHOWN::indexOf)).get();
        formatter.setSyntaxPrefix("Usage:");
        try {
            formatter.printHelp(NAME + " [OPTIONS]", DESCRIPTION, SHOWN, EXIT_CODES, false);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a StringBuilder does not fail
        }
        // The formatter pads its table to the full width.
        return text.toString().lines().map(String::stripTrailing).collect(java.util.stream.Collectors.joining("\n")).strip() + "\n";
    }

    @Override
    public Integer call() throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("server", server);
        flags.put("token", token);
        flags.put("stateDir", stateDir);
        flags.put("backend", backend);
        Path file = config == null ? AgentConfig.DEFAULT_FILE : config;
        ConfigLoader.Result loaded = ConfigLoader.load(file, config != null, env, flags);
        if (!loaded.ok()) {
            loaded.problems().forEach(problem -> err.println("config: " + problem));
            return 2;
        }
        AgentConfig cfg = loaded.config();
        if (checkConfig) {
            out.println("configuration OK");
            return 0;
        }
        if (printConfig) {
            out.print(cfg.toYaml());
            return 0;
        }
        Consumer<String> log = message -> (message.startsWith("error") || message.startsWith("warning") ? err : out)
                .println(Instant.now() + " " + message);
        CountingEnforcer enforcer = new CountingEnforcer(Backends.select(cfg.backend(), runner, log, cfg.events().logging()), log);
        if (uninstall) {
            enforcer.remove();
            out.println("removed the " + enforcer.backend() + " ruleset of Clawfence; the state directory " + cfg.stateDir() + " is kept");
            return 0;
        }
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment(env, log);
        Store store = new Store(cfg.stateDir());
        try (Agent agent = new Agent(enforcer, store, new Agent.Settings(cfg.driftCheckInterval(), cfg.confirmDeadline()), Clock.systemUTC(), log)) {
            log.accept("clawfence-agent " + Version.VERSION + " starting: backend " + enforcer.backend() + ", state " + cfg.stateDir());
            Agent.StartReport report = agent.start();
            if (report.enforcedVersion() != 0) {
                processAgeMillis().ifPresent(age -> log.accept("enforced " + age + " ms after the process started"));
            }
            // Units ordered after this one (the network) start now: the stored policy is in force, or there is
            // none that can be, and nothing below may delay boot (it needs the network).
            systemd.ready(report.enforcedVersion() != 0
                    ? "enforcing stored policy version " + report.enforcedVersion() + agent.current().map(applied -> " (" + applied.ruleset() + ")").orElse("")
                    : report.problem() != null ? "no policy enforced: " + report.problem()
                    : "no stored policy: nothing is enforced until the control plane sends one");
            AtomicReference<SyncClient> syncClient = new AtomicReference<>();
            try (Events events = Events.start(cfg, enforcer, agent, message -> {
                SyncClient client = syncClient.get();
                return client != null && client.send(message);
            }, log)) {
                if (syntheticEvents != null) {
                    events.spool().ifPresent(spool -> Thread.ofPlatform().daemon().name("synthetic-events")
                            .start(new SyntheticEvents(spool, syntheticEvents, syntheticRate, Clock.systemUTC(), log)));
                }
                Optional<Identity> identity = identity(cfg, store, log, systemd, agent);
                if (identity.isEmpty()) {
                    log.accept("not enrolled (pass --server and --token once): enforcing the stored policy only");
                    systemd.status("not enrolled (no server and token): " + enforcing(agent));
                    stop.await();
                } else {
                    sync(identity.get(), justEnrolled, agent, store, enforcer, log, systemd, cfg.confirmDeadline(), syncClient, events);
                }
                log.accept("stopping; the ruleset stays in force");
            } finally {
                systemd.stopping("stopping; the ruleset stays in force");
            }
        }
        return 0;
    }

    /** What is enforced, for status lines. */
    private static String enforcing(Agent agent) {
        return agent.current().map(applied -> "enforcing policy version " + applied.version()).orElse("enforcing no policy yet");
    }

    /**
     * The stored identity, or a new one when {@code --server} and {@code --token} are given and the agent
     * has not enrolled yet. Runs after the stored policy is in force, so a failure here never leaves the
     * host unenforced.
     */
    private Optional<Identity> identity(AgentConfig cfg, Store store, Consumer<String> log, SystemdNotifier systemd, Agent agent)
            throws EnrolmentException, IOException {
        Store.Load<Identity> stored = store.identity();
        if (stored.problem() != null) {
            log.accept("warning: ignoring the stored identity: " + stored.problem());
        }
        if (stored.value().isPresent()) {
            Identity identity = stored.value().get();
            if (cfg.token() != null) {
                log.accept("already enrolled as instance " + identity.instanceId() + "; --token is ignored");
            }
            return stored.value();
        }
        if (cfg.server() == null || cfg.token() == null) {
            return Optional.empty();
        }
        EnrolmentToken token = EnrolmentToken.parse(cfg.token());
        log.accept("enrolling with " + cfg.server() + " (CA pin " + token.toString().substring("cfe1.<hidden>.".length()) + ")");
        systemd.status("enrolling with " + cfg.server() + "; " + enforcing(agent));
        Identity identity = EnrolmentClient.enroll(cfg.server(), token, hostname(), Version.VERSION, cfg.confirmDeadline());
        store.saveIdentity(identity);
        justEnrolled = true;
        log.accept("enrolled with " + cfg.server() + " as instance " + identity.instanceId() + " of tenant " + identity.tenantId()
                + "; later starts need only --state-dir");
        return Optional.of(identity);
    }

    /**
     * Keeps the Sync stream up (reconnecting) and the certificate renewed until the process is asked to
     * stop. A renewed identity is used for new calls at once, and the Sync stream moves to it as soon as
     * no policy update is in hand.
     */
    private void sync(Identity identity, boolean justEnrolled, Agent agent, Store store, Enforcer enforcer, Consumer<String> log,
            SystemdNotifier systemd, Duration confirmDeadline, AtomicReference<SyncClient> syncClient, Events events) throws Exception {
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("hostname", hostname());
        facts.put("kernel", System.getProperty("os.version"));
        facts.put("backend", enforcer.backend());
        if (enforcer.backend().equals("nftables")) {
            NftablesEnforcer.version(runner).ifPresent(version -> facts.put("nft_version", version));
        }
        Consumer<Boolean> connectivity = connected -> systemd.status(connected
                ? "connected to " + identity.server() + " as instance " + identity.instanceId() + "; " + enforcing(agent)
                : "cannot reach " + identity.server() + ", retrying; still " + enforcing(agent));
        try (ControlPlaneConnection open = ControlPlaneConnection.open(identity, connectivity)) {
            SyncClient client = new SyncClient(open, agent, store, facts, Version.VERSION, log)
                    .reportingConnections(ProcNetTcp.system()::read, CONNECTION_SUMMARY_EVERY);
            syncClient.set(client);
            Renewal renewal = new Renewal(identity, open, store, Clock.systemUTC(), new SecureRandom(), new Renewal.Listener() {
                @Override
                public void renewed(Identity renewed) {
                    try {
                        // The old stream may still be confirming an apply: give it that long before closing its channel.
                        open.use(renewed, confirmDeadline.plusSeconds(30));
                        client.reconnect();
                    } catch (java.security.GeneralSecurityException | IOException e) {
                        log.accept("error: the renewed certificate cannot be used (" + e.getMessage() + "); it is stored, and a restart uses it");
                    }
                }

                @Override
                public void failing(String problem) {
                    systemd.status(problem + "; still " + enforcing(agent));
                }
            }, log);
            Thread syncing = Thread.ofPlatform().daemon().name("sync").start(() -> {
                try {
                    client.run();
                } catch (InterruptedException e) {
                    // stopping
                }
            });
            log.accept("syncing with " + identity.server() + " as instance " + identity.instanceId());
            Optional<Thread> uploading = events.spool().map(spool -> Thread.ofPlatform().daemon().name("event-upload").start(() -> {
                try {
                    new EventUploader(open, spool, EventUploader.Settings.DEFAULT, log).run();
                } catch (InterruptedException e) {
                    // stopping
                }
            }));
            renewal.start(justEnrolled);
            try {
                stop.await();
            } finally {
                renewal.close();
                syncing.interrupt();
                uploading.ifPresent(thread -> {
                    thread.interrupt();
                    joinQuietly(thread);
                });
            }
        }
    }

    /** Waits a little for a stopping thread, so the spool is not closed under it. */
    private static void joinQuietly(Thread thread) {
        try {
            thread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Milliseconds since this process was exec'd, to 10 ms, from {@code /proc/self/stat} and {@code /proc/uptime}.
     * Not {@code ProcessHandle.info().startInstant()}: the JDK adds the start tick to the boot time in whole
     * seconds ({@code btime}), which put this figure off by up to a second.
     */
    static OptionalLong processAgeMillis() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name, which may itself hold spaces and parentheses; starttime is field 22.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long startTicks = Long.parseLong(fields[22 - 3]);
            double uptimeSeconds = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            // USER_HZ is 100 on every Linux architecture the agent runs on.
            return OptionalLong.of(Math.round(uptimeSeconds * 1000) - startTicks * 10);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    private static String hostname() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The version from the jar's manifest. */
    static final class Version {

        static final String VERSION = String.valueOf(Main.class.getPackage().getImplementationVersion() == null
                ? "dev" : Main.class.getPackage().getImplementationVersion());

        private Version() {
        }
    }
}
