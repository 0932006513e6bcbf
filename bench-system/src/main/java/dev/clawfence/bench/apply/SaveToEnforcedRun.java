package dev.clawfence.bench.apply;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The inside of {@link SaveToEnforcedBench}; runs in the benchmark's namespace, whose loopback carries
 * everything. Starts the control-plane jar (embedded PostgreSQL in a temporary directory), creates a
 * tenant, an owner token and an enrolment token, saves a first policy, starts the agent jar (nftables
 * backend), then saves changed policies one after the other: each save replaces one allowlist entry
 * ({@code 192.0.2.1xx/32}, a new address each time) and is timed from just before the PUT is sent until
 * the kernel's set {@code allow4_addrs} holds that address, polled back to back with
 * {@code nft list set} from a thread that starts before the PUT (so the figure is an upper bound, late by
 * at most one poll; the poll times are reported). The next save waits until the instances API reports
 * the version applied.
 *
 * <p>Why polling and not {@code nft monitor}: nft 1.0.6 prints the elements of concatenated interval sets
 * ({@code allow4}) from uninitialised memory in its monitor output (megabytes of hex per event) and its
 * monitor stopped reporting after a few such events in trial runs.
 *
 * <p>Arguments: control-plane jar, agent jar, saves, warm-up saves, extra allowlist entries, bare nft
 * loads.
 */
public final class SaveToEnforcedRun {

    private static final String ADMIN_TOKEN = "cf_bench-save-to-enforced-admin";
    private static final String BASE = "http://127.0.0.1:8080/api/v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final List<Process> processes = new ArrayList<>();
    private Path dir;
    private String tenant;
    private String token;

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: SaveToEnforcedRun CONTROL_PLANE_JAR AGENT_JAR SAVES WARMUP ENTRIES NFT_REFERENCES");
            System.exit(2);
        }
        SaveToEnforcedRun run = new SaveToEnforcedRun();
        try {
            run.run(Path.of(args[0]), Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]));
        } catch (Exception e) {
            run.showLogs();
            throw e;
        } finally {
            run.cleanUp();
        }
    }

    /** The end of every log, for a failed run (the files go with the temporary directory). */
    private void showLogs() {
        for (String name : List.of("control-plane", "agent")) {
            Path log = dir == null ? null : dir.resolve(name + ".log");
            try {
                if (log != null && Files.exists(log)) {
                    List<String> lines = Files.readAllLines(log);
                    System.err.println("---- last lines of " + name + ".log");
                    lines.subList(Math.max(0, lines.size() - 25), lines.size()).forEach(System.err::println);
                }
            } catch (IOException e) {
                System.err.println("cannot read " + log + ": " + e.getMessage());
            }
        }
    }

    private void run(Path controlPlaneJar, Path agentJar, int saves, int warmup, int entries, int nftReferences) throws Exception {
        dir = Files.createTempDirectory("ab-s2e");
        String java = ProcessHandle.current().info().command().orElse("java");

        long cpStart = System.nanoTime();
        Process controlPlane = start("control-plane", List.of(java, "--sun-misc-unsafe-memory-access=allow", "-jar", controlPlaneJar.toString()),
                Map.of("CLAWFENCE_DATA_DIR", dir.resolve("control-plane").toString(), "CLAWFENCE_ADMIN_TOKEN", ADMIN_TOKEN,
                        "MICRONAUT_SERVER_PORT", "8080", "GRPC_SERVER_PORT", "50051", "CLAWFENCE_AGENT_GATEWAY_PORT", "50052"));
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> {
                    if (!controlPlane.isAlive()) {
                        throw new IllegalStateException("the control plane exited with " + controlPlane.exitValue());
                    }
                    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                });
        System.out.printf(Locale.ROOT, "control plane up after %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cpStart));

        tenant = call("POST", "/tenants", ADMIN_TOKEN, Map.of("name", "bench"), null).body().get("id").asText();
        token = call("POST", "/tenants/" + tenant + "/api-tokens", ADMIN_TOKEN, Map.of("name", "bench", "role", "owner"), null)
                .body().get("token").asText();
        String enrolment = call("POST", "/tenants/" + tenant + "/enrollment-tokens", token, Map.of("description", "bench"), null)
                .body().get("token").asText();
        Response current = call("GET", "/tenants/" + tenant + "/network/policy", token, null, null);
        Response saved = put(policy(entries, 0), current.etag());

        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, "");
        start("agent", List.of(java, "--sun-misc-unsafe-memory-access=allow", "-jar", agentJar.toString(), "--backend", "nftables",
                "--config", config.toString(), "--state-dir", dir.resolve("agent-state").toString(),
                "--server", "127.0.0.1:50052", "--token", enrolment), Map.of());
        int first = saved.body().get("version").asInt();
        awaitApplied(first, Duration.ofMinutes(1));
        System.out.printf(Locale.ROOT, "agent enrolled and enforcing version %d; %d warm-up + %d measured saves follow%n", first, warmup, saves);

        Samples toEnforced = new Samples("save -> enforced in the kernel (PUT sent -> nft list set shows the new element)");
        Samples polls = new Samples("one kernel poll (nft list set allow4_addrs): the resolution of the figures above");
        Samples putLatency = new Samples("reference: bare REST PUT (sent -> 200 answered)");
        Samples afterPut = new Samples("PUT answered -> enforced");
        Samples toReported = new Samples("save -> APPLIED recorded by the control plane (instances API appliedAt; after the agent's confirmation round trip)");
        String etag = saved.etag();
        for (int i = 1; i <= warmup + saves; i++) {
            String marker = "192.0.2." + (100 + 2 * (i % 70));
            String body = policy(entries, i);
            Instant wall = Instant.now();
            long sent = System.nanoTime();
            CompletableFuture<Poll> kernel = CompletableFuture.supplyAsync(() -> pollKernel(marker, sent + Duration.ofSeconds(30).toNanos()));
            Response response = put(body, etag);
            long answered = System.nanoTime();
            etag = response.etag();
            int version = response.body().get("version").asInt();
            Poll poll = kernel.get(40, TimeUnit.SECONDS);
            long enforced = poll.seen();
            JsonNode instance = awaitApplied(version, Duration.ofSeconds(30));
            long reported = Duration.between(wall, OffsetDateTime.parse(instance.get("appliedAt").asText()).toInstant()).toNanos();
            if (i > warmup) {
                toEnforced.addNanos(enforced - sent);
                putLatency.addNanos(answered - sent);
                afterPut.addNanos(enforced - answered);
                toReported.addNanos(reported);
                poll.durations().forEach(polls::addNanos);
            }
            if (i % 20 == 0) {
                System.out.printf(Locale.ROOT, "save %d (version %d): enforced after %d ms (PUT %d ms)%n", i, version,
                        TimeUnit.NANOSECONDS.toMillis(enforced - sent), TimeUnit.NANOSECONDS.toMillis(answered - sent));
            }
        }

        // The reference: a bare nft -f of the ruleset now in force, as its own table, in this namespace.
        String listing = run(List.of("nft", "-s", "list", "table", "inet", "clawfence"));
        Path reference = dir.resolve("reference.nft");
        Files.writeString(reference, listing.replace("table inet clawfence", "table inet abref"));
        Samples bareNft = new Samples("reference: bare nft -f of the same ruleset (as table abref)");
        for (int i = 0; i < nftReferences + 3; i++) {
            run(List.of("nft", "delete", "table", "inet", "abref"), true);
            long start = System.nanoTime();
            run(List.of("nft", "-f", reference.toString()));
            if (i >= 3) {
                bareNft.addNanos(System.nanoTime() - start);
            }
        }
        run(List.of("nft", "delete", "table", "inet", "abref"));

        System.out.println();
        System.out.printf(Locale.ROOT, "ruleset: %d lines (%d allowlist entries)%n", listing.lines().count(), entries + 1);
        System.out.println(Samples.header());
        for (Samples s : List.of(toEnforced, afterPut, putLatency, toReported, bareNft, polls)) {
            System.out.println(s.row());
        }
    }

    private String policy(int entries, int round) throws IOException {
        List<Object> allowlist = new ArrayList<>();
        allowlist.add(entry("in-marker", "192.0.2." + (100 + 2 * (round % 70)) + "/32", "the entry each save changes"));
        for (int k = 0; k < entries; k++) {
            // 198.51.100.0/24 and 203.0.113.0/24 hold 128 /25../32 spots that never touch each other.
            String cidr = (k % 2 == 0 ? "198.51.100." : "203.0.113.") + (2 * (k / 2 % 128)) + "/32";
            if (k >= 256) {
                throw new IllegalArgumentException("--entries: at most 256 extra entries fit the documentation ranges");
            }
            allowlist.add(entry("in-e" + k, cidr, "entry " + k));
        }
        Map<String, Object> policy = new LinkedHashMap<>();
        policy.put("mode", Map.of("inbound", "enforce", "outbound", "off"));
        policy.put("inbound", Map.of("allowlist", allowlist, "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "HTTPS"))));
        return JSON.writeValueAsString(Map.of("message", "bench save " + round, "policy", policy));
    }

    private static Map<String, Object> entry(String id, String cidr, String description) {
        return Map.of("id", id, "cidr", cidr, "description", description, "requestedBy", "bench@example.com");
    }

    /** When a poll first saw {@code address} in the kernel (the end of that poll), and how long each poll took. */
    private record Poll(long seen, List<Long> durations) {}

    private static Poll pollKernel(String address, long deadline) {
        List<Long> durations = new ArrayList<>();
        // "192.0.2.1xx" then a separator: a longer address with the same start must not count.
        Pattern element = Pattern.compile("[{ ,]" + Pattern.quote(address) + "[ ,}\n]");
        while (System.nanoTime() < deadline) {
            long start = System.nanoTime();
            Namespace.Result result;
            try {
                result = Namespace.run(List.of("nft", "list", "set", "inet", "clawfence", "allow4_addrs"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            long end = System.nanoTime();
            durations.add(end - start);
            if (result.exitCode() == 0 && element.matcher(result.output()).find()) {
                return new Poll(end, durations);
            }
        }
        throw new IllegalStateException(address + " did not reach the kernel's allow4_addrs set within 30 s");
    }

    private JsonNode awaitApplied(int version, Duration within) {
        JsonNode[] found = new JsonNode[1];
        await().atMost(within).pollInterval(Duration.ofMillis(20)).pollDelay(Duration.ZERO).until(() -> {
            JsonNode instances = call("GET", "/tenants/" + tenant + "/instances", token, null, null).body();
            if (instances.size() != 1) {
                return false;
            }
            JsonNode instance = instances.get(0);
            if (instance.get("appliedPolicyVersion").asInt() == version && !instance.get("applyOutcome").asText().equals("APPLIED")) {
                throw new IllegalStateException("version " + version + " was not applied: " + instance);
            }
            found[0] = instance;
            return instance.get("appliedPolicyVersion").asInt() == version;
        });
        return found[0];
    }

    private record Response(int status, JsonNode body, String etag) {}

    private Response put(String body, String etag) throws IOException, InterruptedException {
        return call("PUT", "/tenants/" + tenant + "/network/policy", token, body, etag);
    }

    private static Response call(String method, String path, String bearer, Object body, String ifMatch) throws IOException, InterruptedException {
        String text = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(BASE + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + bearer).header("Content-Type", "application/json")
                .method(method, text == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(text));
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        JsonNode json = response.body().isBlank() ? JSON.nullNode() : JSON.readTree(response.body());
        return new Response(response.statusCode(), json, response.headers().firstValue("ETag").orElse(null));
    }

    /** Starts a process in this namespace; its output goes to {@code <dir>/<name>.log}. */
    private Process start(String name, List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
        builder.environment().putAll(env);
        builder.redirectOutput(dir.resolve(name + ".log").toFile());
        Process process = builder.start();
        processes.add(process);
        return process;
    }

    private static String run(List<String> command) throws IOException {
        return run(command, false);
    }

    private static String run(List<String> command, boolean mayFail) throws IOException {
        Namespace.Result result = Namespace.run(command);
        if (result.exitCode() != 0 && !mayFail) {
            throw new IOException(String.join(" ", command) + " failed: " + result.output().strip());
        }
        return result.output();
    }

    /** Stops what this run started, newest first, and removes its files; the agent's table goes with the namespace. */
    private void cleanUp() {
        for (Process process : processes.reversed()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (dir != null) {
            try {
                Namespace.run(List.of("rm", "-rf", dir.toString()));
            } catch (IOException e) {
                System.err.println("cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }
}
