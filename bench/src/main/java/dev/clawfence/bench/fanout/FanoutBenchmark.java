package dev.clawfence.bench.fanout;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Issue 3's fan-out figure: starts the real control plane (its runnable jar, on an embedded PostgreSQL
 * in a temporary directory) in a child JVM, creates a tenant, enrols {@code --agents} simulated agents
 * with their own keys and certificates, opens one mutual-TLS Sync stream per agent, saves the policy
 * {@code --saves} times through the REST API and reports the save-to-delivery latency over every stream
 * and save, the connect time, and the control plane's heap and RSS. The reference, measured in the same
 * run on the same number of TLS connections: a minimal gRPC server-streaming service ({@link ReferenceServer})
 * broadcasting a {@code --reference-bytes} message.
 */
@Command(name = "fanout", mixinStandardHelpOptions = true,
        description = "Policy fan-out from one control plane to many simulated agents (issue 3).")
public final class FanoutBenchmark implements Callable<Integer> {

    @Option(names = "--agents", defaultValue = "10000", description = "simulated agents, one TLS connection and Sync stream each (default ${DEFAULT-VALUE})")
    int agents;

    @Option(names = "--saves", defaultValue = "20", description = "policy saves to measure (default ${DEFAULT-VALUE})")
    int saves;

    @Option(names = "--pause-ms", defaultValue = "3000", description = "pause after every stream got a save, before the next (default ${DEFAULT-VALUE})")
    long pauseMillis;

    @Option(names = "--replies", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "agents answer each update like the real agent: ping, then APPLIED after the pong (default ${DEFAULT-VALUE})")
    boolean replies;

    @Option(names = "--reference", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "also measure the minimal gRPC fan-out reference (default ${DEFAULT-VALUE})")
    boolean reference;

    @Option(names = "--reference-bytes", defaultValue = "1024", description = "message size of the reference broadcast (default ${DEFAULT-VALUE})")
    int referenceBytes;

    @Option(names = "--connect-concurrency", defaultValue = "200", description = "TLS handshakes in flight while connecting (default ${DEFAULT-VALUE})")
    int connectConcurrency;

    @Option(names = "--enrol-concurrency", defaultValue = "16", description = "enrolments in flight (default ${DEFAULT-VALUE})")
    int enrolConcurrency;

    @Option(names = "--client-threads", defaultValue = "2", description = "event-loop threads of the simulated agents (default ${DEFAULT-VALUE})")
    int clientThreads;

    @Option(names = "--control-plane-jar", defaultValue = "control-plane/target/clawfence-control-plane-0.1.0-SNAPSHOT.jar",
            description = "the control plane's runnable jar (default ${DEFAULT-VALUE})")
    Path controlPlaneJar;

    @Option(names = "--server-jvm-option", description = "extra JVM option for the control plane and the reference server (repeatable)")
    List<String> serverJvmOptions = new ArrayList<>();

    @Option(names = "--timeout-s", defaultValue = "30", description = "how long to wait for one save to reach every stream (default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    public static void main(String[] args) {
        System.exit(new CommandLine(new FanoutBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (agents < 1 || saves < 1 || referenceBytes < 4) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--agents and --saves must be at least 1 and --reference-bytes at least 4");
        }
        if (!Files.isRegularFile(controlPlaneJar)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--control-plane-jar: " + controlPlaneJar
                    + " does not exist; build it with ./mvnw -B -q -pl control-plane,bench -am package -DskipTests");
        }
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " CPUs, " + memAvailable()
                + ", load average " + loadAverage() + ", Java " + Runtime.version());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(clientThreads, NioIoHandler.newFactory());
        try {
            if (reference) {
                reference(group);
            }
            controlPlane(group);
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
        System.out.println("load average at the end " + loadAverage());
        return 0;
    }

    // ------------------------------------------------------------------ the reference

    private void reference(EventLoopGroup group) throws Exception {
        System.out.println("\n== reference: minimal gRPC server-streaming fan-out, " + referenceBytes + " B, "
                + agents + " TLS connections");
        Path log = Files.createTempFile("fanout-reference", ".log");
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "--sun-misc-unsafe-memory-access=allow",
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(serverJvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ReferenceServer.class.getName(),
                Integer.toString(port)));
        try (ChildJvm server = ChildJvm.start("reference server", command, Map.of(), log)) {
            String certificate = awaitLine(server, "CERT ", 60).substring(5);
            awaitLine(server, "READY ", 60);
            ChildJvm.Memory idle = server.memory();
            try (ReferenceClients clients = new ReferenceClients("localhost", port, group,
                    Pki.certificate(Base64.getDecoder().decode(certificate)))) {
                long start = System.nanoTime();
                clients.connect(agents, connectConcurrency);
                long connected = System.nanoTime() - start;
                System.out.printf(Locale.ROOT, "connected %d streams in %.1f s (%d attempts repeated, %d failed %s)%n",
                        agents, connected / 1e9, clients.retries(), clients.failures(), clients.failureReasons());
                ChildJvm.Memory loaded = server.memory();
                printMemory("reference server", idle, loaded);
                clients.broadcast(-1, referenceBytes);
                Deliveries deliveries = new Deliveries(saves, agents, agents - clients.failures());
                clients.record(deliveries);
                Cpu cpu = Cpu.of(server.pid(), null);
                for (int i = 0; i < saves; i++) {
                    pause();
                    deliveries.started(i, System.nanoTime());
                    clients.broadcast(i, referenceBytes);
                    if (!deliveries.await(i, timeoutSeconds, TimeUnit.SECONDS)) {
                        System.out.println("broadcast " + i + ": " + deliveries.missing(i) + " streams missing after "
                                + timeoutSeconds + " s");
                    }
                    printOne("broadcast", i, deliveries.histogram(i));
                }
                printAll("reference broadcast", deliveries);
                cpu.print("broadcast", saves);
            }
        } catch (IOException | RuntimeException e) {
            System.out.println("reference server log " + log + ":\n" + Files.readString(log));
            throw e;
        }
        Files.deleteIfExists(log);
    }

    // ------------------------------------------------------------------ the control plane

    private void controlPlane(EventLoopGroup group) throws Exception {
        System.out.println("\n== control plane: " + agents + " enrolled agents, one mutual-TLS Sync stream each, "
                + saves + " saves" + (replies ? ", agents answer with ping + APPLIED" : ", agents do not answer"));
        Path data = Files.createTempDirectory("fanout-control-plane");
        int http = freePort();
        int grpc = freePort();
        int gateway = freePort();
        String adminToken = "cf_fanout-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "--sun-misc-unsafe-memory-access=allow",
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(serverJvmOptions);
        command.addAll(List.of("-jar", controlPlaneJar.toString()));
        Map<String, String> environment = Map.of(
                "CLAWFENCE_DATA_DIR", data.toString(),
                "CLAWFENCE_ADMIN_TOKEN", adminToken,
                "MICRONAUT_SERVER_PORT", Integer.toString(http),
                "GRPC_SERVER_PORT", Integer.toString(grpc),
                "CLAWFENCE_AGENT_GATEWAY_PORT", Integer.toString(gateway));
        RestApi api = new RestApi(URI.create("http://localhost:" + http));
        Path log = data.resolve("control-plane.log");
        try (ChildJvm server = ChildJvm.start("control plane", command, environment, log)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (!api.healthy()) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("the control plane did not become healthy:\n" + server.logText());
                }
                Thread.sleep(200);
            }
            String tenant = api.text(api.call("POST", "/tenants", adminToken, RestApi.object("name", "fanout-bench"), null), "id");
            String token = api.text(api.call("POST", "/tenants/" + tenant + "/api-tokens", adminToken,
                    RestApi.object("name", "fanout-bench", "role", "owner"), null), "token");
            int version = api.call("PUT", "/tenants/" + tenant + "/network/policy", token,
                    RestApi.object("message", "fan-out baseline", "policy", policy(-1)), 1).etag();
            // A token allows at most 1,000 uses, and enrolments with one token queue on its row lock:
            // enough tokens that the concurrent enrolments rarely meet on one.
            int tokenCount = Math.max((agents + 999) / 1000, Math.min(enrolConcurrency, agents));
            int perToken = (agents + tokenCount - 1) / tokenCount;
            List<String> enrolmentTokens = new ArrayList<>();
            for (int i = 0; i < tokenCount; i++) {
                enrolmentTokens.add(api.text(api.call("POST", "/tenants/" + tenant + "/enrollment-tokens", token,
                        RestApi.object("description", "fanout " + i, "maxUses", perToken), null), "token"));
            }
            try (AgentFleet fleet = new AgentFleet("localhost", gateway, group)) {
                long start = System.nanoTime();
                List<AgentFleet.Identity> identities = fleet.enrol(enrolmentTokens, agents, enrolConcurrency);
                System.out.printf(Locale.ROOT, "enrolled %d agents in %.1f s%n", agents, (System.nanoTime() - start) / 1e9);
                ChildJvm.Memory idle = server.memory();
                start = System.nanoTime();
                fleet.connect(identities, connectConcurrency, replies);
                System.out.printf(Locale.ROOT, "connected %d Sync streams (hello answered with the policy) in %.1f s "
                        + "(%d attempts repeated, %d failed %s)%n", agents, (System.nanoTime() - start) / 1e9,
                        fleet.retries(), fleet.failures(), fleet.failureReasons());
                awaitInstances(api, tenant, token, true, agents - fleet.failures());
                ChildJvm.Memory loaded = server.memory();
                printMemory("control plane", idle, loaded);
                Deliveries deliveries = new Deliveries(saves, agents, agents - fleet.failures());
                fleet.record(version, deliveries);
                Cpu cpu = Cpu.of(server.pid(), data);
                for (int i = 0; i < saves; i++) {
                    pause();
                    Map<String, Object> body = RestApi.object("message", "fan-out save " + i, "policy", policy(i));
                    deliveries.started(i, System.nanoTime());
                    int saved = api.call("PUT", "/tenants/" + tenant + "/network/policy", token, body, version).etag();
                    long answered = System.nanoTime() - deliveries.startedAt(i);
                    if (saved != version + 1) {
                        throw new IllegalStateException("save " + i + " made version " + saved + ", expected " + (version + 1));
                    }
                    version = saved;
                    if (!deliveries.await(i, timeoutSeconds, TimeUnit.SECONDS)) {
                        System.out.println("save " + i + ": " + deliveries.missing(i) + " streams missing after "
                                + timeoutSeconds + " s");
                    }
                    printOne("save", i, deliveries.histogram(i));
                    System.out.printf(Locale.ROOT, "        (the PUT itself answered after %.0f ms)%n", answered / 1e6);
                }
                printAll("save -> delivered", deliveries);
                cpu.print("save", saves);
                System.out.printf(Locale.ROOT, "mean PolicyUpdate size %d B; streams ended: %d %s; updates parsed in full %d, "
                                + "the other %d matched a parsed one of their version by length and CRC32C%n",
                        fleet.meanUpdateBytes(), fleet.failures(), fleet.failureReasons(), fleet.parsedInFull(),
                        fleet.matched());
            }
            // Closing the fleet dropped every connection at once: the control plane records 10,000 stream ends.
            awaitInstances(api, tenant, token, false, 0);
            server.logText().lines().filter(line -> line.contains("went to its"))
                    .forEach(line -> System.out.println("control plane: " + line.replaceFirst("of tenant \\S+ ", "")));
            long stopping = System.nanoTime();
            server.close();
            System.out.printf(Locale.ROOT, "control plane stopped %.1f s after SIGTERM%n", (System.nanoTime() - stopping) / 1e9);
        } catch (IOException | RuntimeException e) {
            System.out.println("control plane log " + log + " kept");
            throw e;
        } finally {
            stopOrphanedPostgres(data);
        }
        deleteTree(data);
    }

    /**
     * The tenant policy of save {@code i}: inbound enforce with 40 fixed allowlist addresses and one that
     * moves with every save, so each version changes the IPv4 allowlist set (and only it) and the update
     * carries that one set, about 1 KiB in all.
     */
    static Map<String, Object> policy(int i) {
        List<Object> allowlist = new ArrayList<>();
        for (int k = 0; k < 20; k++) {
            allowlist.add(RestApi.object("cidr", "203.0.113." + (2 * k + 1), "description", "office " + k,
                    "requestedBy", "bench@fanout.example"));
            allowlist.add(RestApi.object("cidr", "192.0.2." + (2 * k + 1), "description", "branch " + k,
                    "requestedBy", "bench@fanout.example"));
        }
        allowlist.add(RestApi.object("cidr", "198.51.100." + (2 * (i + 1) % 250 + 1), "description", "moving entry",
                "requestedBy", "bench@fanout.example"));
        Map<String, Object> https = RestApi.object("proto", "tcp", "port", 443, "description", "https");
        return RestApi.object(
                "mode", RestApi.object("inbound", "enforce", "outbound", "monitor"),
                "inbound", RestApi.object("allowlist", allowlist, "ports", List.of(https),
                        "geo", RestApi.object("mode", "none", "countries", List.of())),
                "outbound", RestApi.object("destinations", List.of(), "ports", List.of(https), "defaultAction", "allow"),
                "tests", List.of());
    }

    // ------------------------------------------------------------------ output and plumbing

    /**
     * CPU time (user + system, from /proc through {@link ProcessHandle}) of the server, of the processes it
     * started and of the PostgreSQL whose data directory is under {@code data} (the embedded one detaches from
     * the JVM; its backends live as long as the pool's connections)
     * and of this JVM (the simulated agents) since the measured broadcasts began: the pauses between them are
     * included, and so is whatever work each broadcast caused after it was delivered (replies, their
     * database writes).
     */
    private record Cpu(ProcessHandle server, Path data, long serverStart, Map<Long, Long> childrenStart, long agentsStart) {
        static Cpu of(long serverPid, Path data) {
            ProcessHandle server = ProcessHandle.of(serverPid).orElseThrow(() -> new IllegalStateException(
                    "process " + serverPid + " is gone"));
            return new Cpu(server, data, cpuNanos(server), children(server, data), cpuNanos(ProcessHandle.current()));
        }

        void print(String what, int count) {
            double server = (cpuNanos(this.server) - serverStart) / 1e9;
            double children = children(this.server, data).entrySet().stream()
                    .mapToLong(e -> e.getValue() - childrenStart.getOrDefault(e.getKey(), 0L)).sum() / 1e9;
            double agents = (cpuNanos(ProcessHandle.current()) - agentsStart) / 1e9;
            System.out.printf(Locale.ROOT, "CPU per %s (pauses included): server JVM %.2f s, its PostgreSQL (and other child processes) %.2f s, "
                    + "simulated agents %.2f s (%.1f / %.1f / %.1f CPU-s over %d)%n", what, server / count,
                    children / count, agents / count, server, children, agents, count);
        }

        private static Map<Long, Long> children(ProcessHandle server, Path data) {
            Map<Long, Long> cpu = new HashMap<>();
            server.descendants().forEach(p -> cpu.put(p.pid(), cpuNanos(p)));
            for (long postmaster : postmasters(data)) {
                ProcessHandle.of(postmaster).ifPresent(p -> {
                    cpu.put(p.pid(), cpuNanos(p));
                    p.descendants().forEach(d -> cpu.put(d.pid(), cpuNanos(d)));
                });
            }
            return cpu;
        }

        private static long cpuNanos(ProcessHandle process) {
            return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
        }
    }

    /**
     * Waits until the instance list shows {@code expected} instances connected ({@code connected}) or none
     * ({@code !connected}): the control plane writes hellos and stream ends behind the streams, in batches.
     */
    private static void awaitInstances(RestApi api, String tenant, String token, boolean connected, int expected)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(60);
        int shown;
        do {
            shown = 0;
            for (var instance : api.call("GET", "/tenants/" + tenant + "/instances", token, null, null).body()) {
                if (instance.path("connected").asBoolean()) {
                    shown++;
                }
            }
            if (shown == expected) {
                break;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < deadline);
        System.out.printf(Locale.ROOT, "instances listed as connected: %d (expected %d), %.1f s after the %s%n", shown,
                expected, (System.nanoTime() - start) / 1e9,
                connected ? "last stream got its policy" : "agents dropped their connections");
    }

    private void pause() throws InterruptedException {
        Thread.sleep(pauseMillis);
    }

    private static void printOne(String what, int i, Histogram h) {
        System.out.printf(Locale.ROOT, "%s %2d: %d streams, first %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms%n", what, i,
                h.getTotalCount(), h.getMinValue() / 1e3, h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getMaxValue() / 1e3);
    }

    private static void printAll(String what, Deliveries deliveries) {
        Histogram all = deliveries.all();
        System.out.printf(Locale.ROOT, "%s over %d deliveries: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (%s)%n",
                what, all.getTotalCount(), all.getValueAtPercentile(50) / 1e3, all.getValueAtPercentile(90) / 1e3,
                all.getValueAtPercentile(99) / 1e3, all.getMaxValue() / 1e3, deliveries);
    }

    private void printMemory(String who, ChildJvm.Memory idle, ChildJvm.Memory loaded) {
        System.out.printf(Locale.ROOT, "%s heap after full GC: %.1f MB without streams, %.1f MB with %d (%.1f KB per stream); "
                        + "RSS %.0f MB -> %.0f MB%n", who, idle.heapUsed() / 1e6, loaded.heapUsed() / 1e6, agents,
                (loaded.heapUsed() - idle.heapUsed()) / 1e3 / agents, idle.rss() / 1e6, loaded.rss() / 1e6);
    }

    private static String awaitLine(ChildJvm child, String prefix, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline && child.isAlive()) {
            for (String line : child.logText().split("\n")) {
                if (line.startsWith(prefix)) {
                    return line.strip();
                }
            }
            Thread.sleep(100);
        }
        throw new IOException("no line starting with \"" + prefix + "\" from the child:\n" + child.logText());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String memAvailable() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemAvailable"))
                    .findFirst().map(l -> l.replaceAll("\\s+", " ")).orElse("MemAvailable unknown");
        } catch (IOException e) {
            return "MemAvailable unknown";
        }
    }

    /** After a kill the embedded PostgreSQL would outlive the control plane: stop it through its pid file. */
    private static void stopOrphanedPostgres(Path data) {
        for (long pid : postmasters(data)) {
            ProcessHandle.of(pid).ifPresent(p -> {
                System.out.println("stopping PostgreSQL " + pid + " left by the control plane");
                p.destroy();
            });
        }
    }

    /** The pids of the PostgreSQL servers running with a data directory under {@code data} (none for null). */
    private static List<Long> postmasters(Path data) {
        if (data == null) {
            return List.of();
        }
        List<Long> pids = new ArrayList<>();
        try (var files = Files.walk(data)) {
            for (Path pidFile : files.filter(p -> p.getFileName().toString().equals("postmaster.pid")).toList()) {
                long pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
                if (ProcessHandle.of(pid).filter(p -> p.info().command().orElse("").contains("postgres")).isPresent()) {
                    pids.add(pid);
                }
            }
        } catch (IOException | RuntimeException e) {
            System.out.println("cannot check for a PostgreSQL in " + data + ": " + e.getMessage());
        }
        return pids;
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
