package dev.clawfence.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.controlplane.agents.AgentGatewayServer;
import dev.clawfence.policy.render.Netns;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The whole system: the control plane runs in this JVM (embedded PostgreSQL), the real edge-agent jar runs
 * in network namespace {@code host}, and a {@code client} namespace probes it.
 *
 * <pre>
 * root ns  198.51.100.1/24 (REST on loopback, agent gateway) ──veth── 198.51.100.2/24  host ns (agent, servers on
 *                                                                      203.0.113.1:443 and :8080)
 * host ns  203.0.113.1/24 ──veth── 203.0.113.10/24 + 203.0.113.11/24  client ns (probes, a server on :443)
 *          2001:db8::1/64             2001:db8::10/64 + 2001:db8::11/64
 * </pre>
 *
 * The steps share one agent and run in order; the control plane is stopped last. One step cuts the
 * host's path to the gateway with an nft table of its own in the root namespace ({@code cfs_cut_*}),
 * which it removes again (and {@link #stop()} does, should the step fail).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SystemIT {

    private static final String ADMIN_TOKEN = "cf_system-test-admin-token";
    private static final String APP_PASSWORD = "app-system-test-password";
    private static final String GATEWAY_ADDRESS = "198.51.100.1";
    private static final String HOST = "203.0.113.1";
    private static final String ALLOWED = "203.0.113.10";
    private static final String OTHER = "203.0.113.11";
    private static final String HOST6 = "2001:db8::1";
    private static final String ALLOWED6 = "2001:db8::10";
    private static final String OTHER6 = "2001:db8::11";
    private static final Duration POLL = Duration.ofMillis(10);
    /** The agent's confirm deadline here (default 20 s), so that a rollback is quick to see. */
    private static final Duration CONFIRM_DEADLINE = Duration.ofSeconds(3);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Path dir;
    private static Netns host;
    private static Netns client;
    private static String rootVeth;
    private static EmbeddedPostgres postgres;
    private static Map<String, Object> properties;
    private static EmbeddedServer server;
    private static int gatewayPort;
    private static String tenant;
    private static String apiToken;
    private static String enrolmentToken;
    private static Tool hostTool;
    private static Tool clientTool;
    private static Agent agent;
    /** The root namespace's nft table that cuts the host's path to the gateway, while one exists. */
    private static String cutTable;

    // ---------------------------------------------------------------- setup and cleanup

    @BeforeAll
    static void start() throws Exception {
        Netns.assumeAvailable();
        assertThat(Netns.run(List.of("ip", "-4", "route", "show", "198.51.100.0/24")).output())
                .as("198.51.100.0/24 is already routed in the root namespace").isBlank();
        dir = Files.createTempDirectory("clawfence-system-test");
        host = Netns.create();
        client = Netns.create();
        rootVeth = "cfs" + HexFormat.of().formatHex(new java.security.SecureRandom().generateSeed(3));
        ok(Netns.run(List.of("ip", "link", "add", rootVeth, "type", "veth", "peer", "name", "cfs-up", "netns", host.name())));
        ok(Netns.run(List.of("ip", "addr", "add", GATEWAY_ADDRESS + "/24", "dev", rootVeth)));
        ok(Netns.run(List.of("ip", "link", "set", rootVeth, "up")));
        ok(host.exec(List.of("ip", "link", "set", "lo", "up")));
        ok(host.exec(List.of("ip", "addr", "add", "198.51.100.2/24", "dev", "cfs-up")));
        ok(host.exec(List.of("ip", "link", "set", "cfs-up", "up")));
        ok(host.exec(List.of("ip", "link", "add", "cfs-down", "type", "veth", "peer", "name", "cfs-host", "netns", client.name())));
        ok(host.exec(List.of("ip", "addr", "add", HOST + "/24", "dev", "cfs-down")));
        ok(host.exec(List.of("ip", "link", "set", "cfs-down", "up")));
        ok(client.exec(List.of("ip", "link", "set", "lo", "up")));
        ok(client.exec(List.of("ip", "addr", "add", ALLOWED + "/24", "dev", "cfs-host")));
        ok(client.exec(List.of("ip", "addr", "add", OTHER + "/24", "dev", "cfs-host")));
        ok(host.exec(List.of("ip", "-6", "addr", "add", HOST6 + "/64", "dev", "cfs-down", "nodad")));
        ok(client.exec(List.of("ip", "-6", "addr", "add", ALLOWED6 + "/64", "dev", "cfs-host", "nodad")));
        ok(client.exec(List.of("ip", "-6", "addr", "add", OTHER6 + "/64", "dev", "cfs-host", "nodad")));
        ok(client.exec(List.of("ip", "link", "set", "cfs-host", "up")));

        hostTool = Tool.start(host, "host");
        clientTool = Tool.start(client, "client");
        assertThat(hostTool.ask("listen " + HOST + " 443")).isEqualTo("OK");
        assertThat(hostTool.ask("listen " + HOST + " 8080")).isEqualTo("OK");
        assertThat(hostTool.ask("listen " + HOST6 + " 443")).isEqualTo("OK");
        assertThat(hostTool.ask("listen " + HOST6 + " 8080")).isEqualTo("OK");
        assertThat(clientTool.ask("listen 0.0.0.0 443")).isEqualTo("OK");
        // The links need a moment for duplicate address detection and carrier; wait until they carry traffic.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> clientTool.connect(ALLOWED, HOST, 443).equals("ESTABLISHED")
                        && clientTool.connect(ALLOWED6, HOST6, 443).equals("ESTABLISHED"));

        postgres = EmbeddedPostgres.builder().start();
        try (Connection c = DriverManager.getConnection(ownerUrl(), "postgres", "postgres"); Statement s = c.createStatement()) {
            s.execute("create role clawfence_app login nosuperuser nobypassrls password '" + APP_PASSWORD + "'");
        }
        gatewayPort = freePort();
        properties = new HashMap<>();
        properties.put("micronaut.server.port", -1);
        properties.put("grpc.server.port", freePort());
        properties.put("clawfence.agent-gateway.port", gatewayPort);
        properties.put("clawfence.agent-gateway.server-names", List.of(GATEWAY_ADDRESS));
        properties.put("clawfence.agent-gateway.endpoint-addresses", List.of(GATEWAY_ADDRESS + "/32"));
        properties.put("clawfence.admin-token", ADMIN_TOKEN);
        properties.put("clawfence.database.url", ownerUrl());
        properties.put("clawfence.database.user", "postgres");
        properties.put("clawfence.database.password", "postgres");
        properties.put("clawfence.database.app-user", "clawfence_app");
        properties.put("clawfence.database.app-password", APP_PASSWORD);
        startControlPlane();

        tenant = call("POST", "/tenants", ADMIN_TOKEN, Map.of("name", "system-test")).body.get("id").asText();
        apiToken = call("POST", "/tenants/" + tenant + "/api-tokens", ADMIN_TOKEN, Map.of("name", "system-test", "role", "owner"))
                .body.get("token").asText();
        enrolmentToken = call("POST", "/tenants/" + tenant + "/enrollment-tokens", apiToken, Map.of("description", "system test"))
                .body.get("token").asText();
    }

    @AfterAll
    static void stop() throws Exception {
        List<Exception> problems = new ArrayList<>();
        for (AutoCloseable step : new AutoCloseable[] {
                () -> { if (agent != null) agent.stop(); },
                SystemIT::restorePath,
                () -> { if (hostTool != null) hostTool.close(); },
                () -> { if (clientTool != null) clientTool.close(); },
                () -> { if (server != null) server.getApplicationContext().close(); },
                () -> { if (postgres != null) postgres.close(); },
                () -> { if (client != null) client.close(); },
                () -> { if (host != null) host.close(); },
                () -> { if (rootVeth != null) Netns.run(List.of("ip", "link", "del", rootVeth)); }, // normally gone with host
                () -> { if (dir != null) Netns.run(List.of("rm", "-rf", dir.toString())); }}) {
            try {
                step.close();
            } catch (Exception e) {
                problems.add(e);
            }
        }
        if (!problems.isEmpty()) {
            throw problems.getFirst();
        }
    }

    private static void startControlPlane() {
        server = ApplicationContext.run(EmbeddedServer.class, properties);
        assertThat(server.getApplicationContext().getBean(AgentGatewayServer.class).port()).isEqualTo(gatewayPort);
    }

    // ---------------------------------------------------------------- the steps

    @Test
    @Order(1)
    void anAllowlistedClientReaches443AndEverythingElseIsRefused() throws Exception {
        int version = save(policy("enforce", "off", "deny", ""));
        agent = Agent.start(List.of("--server", GATEWAY_ADDRESS + ":" + gatewayPort, "--token", enrolmentToken));
        awaitApplied(version, Duration.ofSeconds(30));

        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(ALLOWED, HOST, 8080)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(OTHER, HOST, 8080)).isEqualTo("REFUSED");

        assertThat(clientTool.connect(ALLOWED6, HOST6, 443)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(OTHER6, HOST6, 443)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(ALLOWED6, HOST6, 8080)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(OTHER6, HOST6, 8080)).isEqualTo("REFUSED");
    }

    @Test
    @Order(2)
    void monitorLetsEverythingThroughAndEnforceTakesEffectWithinOneSecondOfTheSave() throws Exception {
        int monitor = save(policy("monitor", "off", "deny", ""));
        awaitApplied(monitor, Duration.ofSeconds(10));
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(ALLOWED, HOST, 8080)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(OTHER, HOST, 8080)).isEqualTo("ESTABLISHED");

        String body = policy("enforce", "off", "deny", "");
        String etag = etag();
        long saved = System.nanoTime();
        putPolicy(body, etag);
        await().atMost(Duration.ofSeconds(1)).pollInterval(POLL).pollDelay(Duration.ZERO)
                .until(() -> clientTool.connect(OTHER, HOST, 443).equals("REFUSED"));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - saved);
        System.out.println("MEASURED save (PUT answered) -> connection refused: " + millis + " ms");
        assertThat(millis).isLessThan(1000);
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
    }

    @Test
    @Order(3)
    void aRulesetDeletedByHandIsRestoredWithinTheCheckInterval() throws Exception {
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");
        long deleted = System.nanoTime();
        ok(host.exec(List.of("nft", "delete", "table", "inet", "clawfence")));
        // Drift check every second: allow one interval plus the re-apply (two nft runs, slow on a loaded machine).
        await().atMost(Duration.ofMillis(2500)).pollInterval(POLL).pollDelay(Duration.ZERO)
                .until(() -> host.exec(List.of("nft", "list", "tables")).output().contains("table inet clawfence")
                        && clientTool.connect(OTHER, HOST, 443).equals("REFUSED"));
        System.out.println("MEASURED table deleted -> restored and refusing: "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - deleted) + " ms (check interval 1 s)");
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
    }

    @Test
    @Order(4)
    void outboundDenyRefusesAnUnlistedDestinationAndKeepsTheControlPlaneConnection() throws Exception {
        int version = save(policy("enforce", "enforce", "deny", """
                { "id": "out-client", "cidr": "203.0.113.10/32",
                  "description": "the allowed client", "requestedBy": "system-test@example.com" }"""));
        awaitApplied(version, Duration.ofSeconds(10));
        assertThat(hostTool.connect("-", ALLOWED, 443)).isEqualTo("ESTABLISHED");
        assertThat(hostTool.connect("-", OTHER, 443)).isEqualTo("REFUSED");
        // Still connected: a later save still reaches the agent over the same gateway.
        int next = save(policy("enforce", "enforce", "deny", """
                { "id": "out-client", "cidr": "203.0.113.10/32",
                  "description": "the allowed client (2)", "requestedBy": "system-test@example.com" }"""));
        awaitApplied(next, Duration.ofSeconds(10));
        assertThat(instance().get("connected").asBoolean()).isTrue();
        assertThat(hostTool.connect("-", OTHER, 443)).isEqualTo("REFUSED");
    }

    /**
     * Issue 3: "a version after whose push the host loses its path to the control plane (the test drops
     * the packets outside the agent, e.g. with an nft rule in the parent namespace) is rolled back within
     * the deadline, and the control plane shows ROLLED_BACK once the path is back".
     */
    @Test
    @Order(5)
    void aVersionAfterWhosePushTheHostLosesItsPathIsRolledBackAndShownOnceThePathIsBack() throws Exception {
        int before = currentVersion();
        awaitApplied(before, Duration.ofSeconds(10));
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");
        // The new version lets OTHER in as well: its effect, and the rollback's, show from the client.
        // Outbound as step 4 left it, which the next step relies on.
        String destinations = """
                { "id": "out-client", "cidr": "203.0.113.10/32",
                  "description": "the allowed client", "requestedBy": "system-test@example.com" }""";
        String opened = policy("enforce", "enforce", "deny", destinations, """
                { "id": "in-other", "cidr": "203.0.113.11/32",
                  "description": "the other client", "requestedBy": "system-test@example.com" },""");

        // The cut drops only what the host sends to the gateway, and goes in before the save. TCP hands
        // the control plane's PolicyUpdate to the agent although the agent's ACKs never get back, so the
        // update is delivered and applied; the Ping that would confirm it (and the ApplyResult) wait in
        // the agent's retransmission queue. Cutting after the save instead would race the agent's
        // Ping, which goes out within milliseconds of the apply.
        cutPath();
        int version;
        long applied;
        long rolledBack;
        try {
            version = save(opened);
            await().atMost(Duration.ofSeconds(5)).pollInterval(POLL).pollDelay(Duration.ZERO)
                    .until(() -> clientTool.connect(OTHER, HOST, 443).equals("ESTABLISHED"));
            applied = System.nanoTime();
            await().atMost(CONFIRM_DEADLINE.plusSeconds(2)).pollInterval(POLL)
                    .until(() -> clientTool.connect(OTHER, HOST, 443).equals("REFUSED"));
            rolledBack = System.nanoTime();
            assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
            // Nothing from the agent got through: the control plane still shows the previous version.
            JsonNode meanwhile = instance();
            assertThat(meanwhile.get("appliedPolicyVersion").asInt()).as("%s", meanwhile).isEqualTo(before);
            assertThat(meanwhile.get("applyOutcome").asText()).as("%s", meanwhile).isEqualTo("APPLIED");
        } finally {
            restorePath();
        }
        long restored = System.nanoTime();
        System.out.println("MEASURED version in force -> previous ruleset back (deadline " + CONFIRM_DEADLINE.toSeconds()
                + " s): " + TimeUnit.NANOSECONDS.toMillis(rolledBack - applied) + " ms");

        // The report waited in TCP's retransmission queue; it arrives with the next retransmission.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            JsonNode instance = instance();
            assertThat(instance.get("applyVersion").asInt()).as("%s", instance).isEqualTo(version);
            assertThat(instance.get("applyOutcome").asText()).as("%s", instance).isEqualTo("ROLLED_BACK");
            // The previous version is the one in force.
            assertThat(instance.get("appliedPolicyVersion").asInt()).as("%s", instance).isEqualTo(before);
            assertThat(instance.get("applyReason").asText()).as("%s", instance)
                    .contains("confirm").contains(CONFIRM_DEADLINE.toSeconds() + " s");
        });
        long shown = System.nanoTime();
        System.out.println("MEASURED path back -> control plane shows ROLLED_BACK: "
                + TimeUnit.NANOSECONDS.toMillis(shown - restored) + " ms");
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");

        // The cut was transient: once the control plane answers again and the hold-off (the confirm
        // deadline after a first rollback) has passed, the agent tries the version again, and it holds.
        awaitApplied(version, CONFIRM_DEADLINE.plusSeconds(15));
        System.out.println("MEASURED ROLLED_BACK shown -> retried and APPLIED: "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - shown) + " ms (hold-off " + CONFIRM_DEADLINE.toSeconds() + " s)");
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("ESTABLISHED");

        // The stream recovered: a later save applies as usual.
        int later = save(policy("enforce", "enforce", "deny", destinations));
        awaitApplied(later, Duration.ofSeconds(10));
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
        assertThat(hostTool.connect("-", OTHER, 443)).isEqualTo("REFUSED");
    }

    @Test
    @Order(6)
    void withTheControlPlaneDownEnforcementHoldsAndARestartedAgentEnforcesBeforeItConnects() throws Exception {
        server.getApplicationContext().close();
        server = null;
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("REFUSED");

        agent.stop();
        agent = null;
        // Take the ruleset away so that only the restarted agent can bring it back.
        ok(host.exec(List.of("nft", "delete", "table", "inet", "clawfence")));
        assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo("ESTABLISHED");

        long started = System.nanoTime();
        agent = Agent.start(List.of());
        await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).pollDelay(Duration.ZERO)
                .until(() -> clientTool.connect(OTHER, HOST, 443).equals("REFUSED"));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        await().atMost(Duration.ofSeconds(2)).pollInterval(POLL)
                .until(() -> agent.lines.stream().anyMatch(l -> l.contains("enforcing stored policy version")));
        List<String> lines = List.copyOf(agent.lines);
        String line = lines.stream().filter(l -> l.contains("enforcing stored policy version")).findFirst().orElseThrow();
        // Enforced before any connection: the control plane is down, and the agent has not got through.
        assertThat(lines.subList(0, lines.indexOf(line))).noneMatch(l -> l.contains("applied and confirmed") || l.contains("syncing with"));
        System.out.println("MEASURED agent restart (process start) -> refusing: " + millis + " ms; agent: " + line);
        long agentMillis = Long.parseLong(line.replaceAll(".* (\\d+) ms after start.*", "$1"));
        // What this test must show is the order (enforced before any connection, asserted above).
        // The "start to enforced <= 1 s" figure is a benchmark target (BENCHMARKS.md): on a loaded
        // 2-core machine JVM start alone varies by hundreds of milliseconds, so the bound here only
        // catches a regression by an order of magnitude.
        assertThat(agentMillis).as(line).isLessThan(5000);
        assertThat(hostTool.connect("-", OTHER, 443)).isEqualTo("REFUSED");
        assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");

        // The control plane comes back; the agent reconnects and reports the version it enforces.
        startControlPlane();
        int version = currentVersion();
        awaitApplied(version, Duration.ofSeconds(30));
    }

    @Test
    @Order(7)
    void theInstanceListsItsConnectionToTheControlPlaneAmongItsActiveConnections() throws Exception {
        String id = instance().get("id").asText();
        Response live = call("GET", "/tenants/" + tenant + "/instances/" + id + "/connections", apiToken, null);
        assertThat(live.status).as("%s", live.body).isEqualTo(200);
        assertThat(live.body.get("live").asBoolean()).as("%s", live.body).isTrue();
        assertThat(live.body.get("outboundTotal").asInt()).as("%s", live.body).isGreaterThanOrEqualTo(1);
        List<JsonNode> connections = new ArrayList<>();
        live.body.get("connections").forEach(connections::add);
        // The agent's own gRPC connection to the gateway, read from the host namespace's socket table.
        assertThat(connections).as("%s", live.body).anySatisfy(connection -> {
            assertThat(connection.get("direction").asText()).isEqualTo("outbound");
            assertThat(connection.get("remoteAddress").asText()).isEqualTo(GATEWAY_ADDRESS);
            assertThat(connection.get("remotePort").asInt()).isEqualTo(gatewayPort);
            assertThat(connection.get("localAddress").asText()).isEqualTo("198.51.100.2");
        });
    }

    @Test
    @Order(8)
    void everyAttemptShowsUpInTheEventListWithItsRuleAndReasonWithinTwoSeconds() throws Exception {
        awaitApplied(save(policy("enforce", "off", "deny", "")), Duration.ofSeconds(10));
        attemptsAppearAsEvents("blocked", "REFUSED");

        // Monitor: the same traffic goes through, and what enforce would refuse is logged as would-block.
        awaitApplied(save(policy("monitor", "off", "deny", "")), Duration.ofSeconds(10));
        attemptsAppearAsEvents("would-block", "ESTABLISHED");
    }

    /**
     * 50 attempts from the client outside the allowlist and 20 from the allowlisted one, to 443: the event
     * list holds exactly 50 {@code refusedVerdict} and 20 allowed events, with the reasons and rule ids the
     * simulator gives, within 2 s of the last attempt.
     */
    private static void attemptsAppearAsEvents(String refusedVerdict, String refusedOutcome) throws Exception {
        // The next whole second of this machine's clock (which the kernel's timestamps share): every event
        // of an earlier step lies before it, every attempt below after it.
        Instant start = Instant.now().truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
        String from = start.toString();
        await().pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(2)).until(() -> Instant.now().isAfter(start.plusMillis(10)));
        for (int i = 0; i < 50; i++) {
            assertThat(clientTool.connect(OTHER, HOST, 443)).isEqualTo(refusedOutcome);
        }
        for (int i = 0; i < 20; i++) {
            assertThat(clientTool.connect(ALLOWED, HOST, 443)).isEqualTo("ESTABLISHED");
        }
        long last = System.nanoTime();
        String path = "/tenants/" + tenant + "/network/events?limit=1000&from=" + from;
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50)).pollDelay(Duration.ZERO)
                .until(() -> call("GET", path, apiToken, null).body.get("items").size() >= 70);
        System.out.println("MEASURED last attempt -> all 70 events in the API: "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - last) + " ms (" + refusedVerdict + ")");
        // A straggler or a duplicate would show up within this while.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(50))
                .until(() -> call("GET", path, apiToken, null).body.get("items").size() == 70);
        Response page = call("GET", path, apiToken, null);
        assertThat(page.status).as("%s", page.body).isEqualTo(200);
        List<JsonNode> items = new ArrayList<>();
        page.body.get("items").forEach(items::add);
        assertThat(items).as("%s", page.body).hasSize(70);
        List<JsonNode> refused = items.stream().filter(e -> e.get("verdict").asText().equals(refusedVerdict)).toList();
        List<JsonNode> allowed = items.stream().filter(e -> e.get("verdict").asText().equals("allowed")).toList();
        assertThat(refused).hasSize(50).allSatisfy(e -> {
            assertThat(e.get("direction").asText()).isEqualTo("inbound");
            assertThat(e.get("protocol").asText()).isEqualTo("tcp");
            assertThat(e.get("sourceAddress").asText()).isEqualTo(OTHER);
            assertThat(e.get("destinationAddress").asText()).isEqualTo(HOST);
            assertThat(e.get("destinationPort").asInt()).isEqualTo(443);
            assertThat(e.get("reason").asText()).isEqualTo("not-allowlisted");
            assertThat(e.get("ruleId").isNull()).as("%s", e).isTrue();
        });
        assertThat(allowed).hasSize(20).allSatisfy(e -> {
            assertThat(e.get("sourceAddress").asText()).isEqualTo(ALLOWED);
            assertThat(e.get("destinationPort").asInt()).isEqualTo(443);
            assertThat(e.get("reason").asText()).isEqualTo("allowlisted");
            assertThat(e.get("ruleId").asText()).isEqualTo("in-client");
        });
        assertThat(items.stream().map(e -> e.get("sequence").asLong()).distinct().count()).as("no event twice").isEqualTo(70);
    }

    // ---------------------------------------------------------------- the REST API

    private static String policy(String inbound, String outbound, String defaultAction, String destinations) {
        return policy(inbound, outbound, defaultAction, destinations, "");
    }

    /** {@code allowlist}: more inbound allowlist entries, each followed by a comma. */
    private static String policy(String inbound, String outbound, String defaultAction, String destinations, String allowlist) {
        return """
                {
                  "mode": { "inbound": "%s", "outbound": "%s" },
                  "inbound": {
                    "allowlist": [ %s
                      { "id": "in-client", "cidr": "203.0.113.10/32",
                        "description": "the allowed client", "requestedBy": "system-test@example.com" },
                      { "id": "in-client6", "cidr": "2001:db8::10/128",
                        "description": "the allowed client (IPv6)", "requestedBy": "system-test@example.com" }
                    ],
                    "ports": [ { "proto": "tcp", "port": 443, "description": "HTTPS" } ]
                  },
                  "outbound": {
                    "destinations": [ %s ],
                    "ports": [ { "proto": "tcp", "port": 443, "description": "HTTPS" } ],
                    "defaultAction": "%s"
                  }
                }""".formatted(inbound, outbound, allowlist, destinations, defaultAction);
    }

    /** PUTs the policy with If-Match of the current version; returns the new version. */
    private static int save(String policy) throws Exception {
        return putPolicy(policy, etag());
    }

    private static String etag() throws Exception {
        return call("GET", "/tenants/" + tenant + "/network/policy", apiToken, null).etag;
    }

    private static int currentVersion() throws Exception {
        return call("GET", "/tenants/" + tenant + "/network/policy", apiToken, null).body.get("version").asInt();
    }

    private static int putPolicy(String policy, String etag) throws Exception {
        String body = "{\"message\": \"system test\", \"policy\": " + policy + "}";
        HttpRequest.Builder request = request("/tenants/" + tenant + "/network/policy", apiToken)
                .header("If-Match", etag)
                .PUT(HttpRequest.BodyPublishers.ofString(body));
        Response response = send(request);
        assertThat(response.status).as("PUT policy: %s", response.body).isEqualTo(200);
        return response.body.get("version").asInt();
    }

    private static JsonNode instance() throws Exception {
        JsonNode instances = call("GET", "/tenants/" + tenant + "/instances", apiToken, null).body;
        assertThat(instances.size()).as("instances: %s", instances).isEqualTo(1);
        return instances.get(0);
    }

    private static void awaitApplied(int version, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            JsonNode instances = call("GET", "/tenants/" + tenant + "/instances", apiToken, null).body;
            assertThat(instances.size()).as("instances: %s", instances).isEqualTo(1);
            JsonNode instance = instances.get(0);
            assertThat(instance.get("connected").asBoolean()).as("%s", instance).isTrue();
            assertThat(instance.get("appliedPolicyVersion").asInt()).as("%s", instance).isEqualTo(version);
            assertThat(instance.get("applyOutcome").asText()).as("%s", instance).isEqualTo("APPLIED");
        });
    }

    // ---------------------------------------------------------------- cutting the host's path

    /**
     * Drops what the host namespace sends to the agent gateway, in the root namespace (outside the agent
     * and its table), with a table of this test's own; nothing else on the machine is touched.
     */
    private static void cutPath() throws IOException {
        String table = "cfs_cut_" + rootVeth.substring(3);
        Path script = dir.resolve("cut.nft");
        Files.writeString(script, """
                table inet %s {
                    chain input {
                        type filter hook input priority filter; policy accept;
                        iifname "%s" ip daddr %s tcp dport %d drop
                    }
                }
                """.formatted(table, rootVeth, GATEWAY_ADDRESS, gatewayPort));
        ok(Netns.run(List.of("nft", "-f", script.toString())));
        cutTable = table;
    }

    private static void restorePath() throws IOException {
        if (cutTable != null) {
            ok(Netns.run(List.of("nft", "delete", "table", "inet", cutTable)));
            cutTable = null;
        }
    }

    private record Response(int status, JsonNode body, String etag) {}

    private static HttpRequest.Builder request(String path, String token) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getPort() + "/api/v1" + path))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json");
    }

    private static Response call(String method, String path, String token, Object body) throws Exception {
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body));
        Response response = send(request(path, token).method(method, publisher));
        assertThat(response.status).as("%s %s: %s", method, path, response.body).isBetween(200, 299);
        return response;
    }

    private static Response send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = response.body().isBlank() ? JSON.nullNode() : JSON.readTree(response.body());
        return new Response(response.statusCode(), json, response.headers().firstValue("ETag").orElse(null));
    }

    // ---------------------------------------------------------------- processes

    /** The real agent jar in the host namespace, drift check every second. */
    private record Agent(Process process, List<String> lines) {

        static Agent start(List<String> extra) throws IOException {
            Path jar = Path.of("..", "edge-agent", "target", "clawfence-edge-agent-0.1.0-SNAPSHOT.jar").toAbsolutePath().normalize();
            assertThat(jar).as("the agent jar (built by the edge-agent module)").exists();
            Path config = dir.resolve("agent.yaml");
            if (!Files.exists(config)) {
                Files.writeString(config, "");
            }
            List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", host.name(), java(),
                    "--sun-misc-unsafe-memory-access=allow", "-jar", jar.toString(), "--backend", "nftables",
                    "--config", config.toString(), "--state-dir", dir.resolve("state").toString()));
            command.addAll(extra);
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin");
            builder.environment().put("CLAWFENCE_AGENT_DRIFT_CHECK_INTERVAL", "1s");
            builder.environment().put("CLAWFENCE_AGENT_CONFIRM_DEADLINE", CONFIRM_DEADLINE.toSeconds() + "s");
            Process process = builder.start();
            List<String> lines = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    reader.lines().forEach(line -> {
                        lines.add(line);
                        System.out.println("agent: " + line);
                    });
                } catch (IOException e) {
                    // process ended
                }
            });
            return new Agent(process, lines);
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** {@code NetTool.java} (test resources) running in one namespace: listens and probes on request. */
    private static final class Tool implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final PrintWriter in;

        private Tool(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        }

        static Tool start(Netns ns, String label) throws IOException {
            Path source = Path.of("src", "test", "resources", "NetTool.java").toAbsolutePath();
            Tool tool = new Tool(ns.start(List.of(java(), source.toString())));
            String first = tool.out.readLine();
            assertThat(first).as("NetTool in %s", label).isEqualTo("READY");
            return tool;
        }

        synchronized String ask(String command) throws IOException {
            in.println(command);
            String answer = out.readLine();
            if (answer == null) {
                throw new IOException("NetTool ended");
            }
            return answer;
        }

        String connect(String source, String address, int port) throws IOException {
            return ask("connect " + source + " " + address + " " + port + " 2000");
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static String ownerUrl() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    private static void ok(Netns.Result result) {
        assertThat(result.exitCode()).as(result.output()).isZero();
    }
}
