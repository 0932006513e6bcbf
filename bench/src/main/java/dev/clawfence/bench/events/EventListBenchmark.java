package dev.clawfence.bench.events;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.database.ServerSettings;
import dev.clawfence.controlplane.events.BinaryCopyRows;
import dev.clawfence.controlplane.events.EventPartitions;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.flywaydb.core.Flyway;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * First-page latency of {@code GET /api/v1/tenants/{tenant}/network/events} over a large stored data
 * set, through the real control plane (in this JVM, HTTP on loopback) on an embedded PostgreSQL with the
 * real migrations. The rows are loaded by binary COPY with the table's indexes dropped and then rebuilt
 * from their own definitions (far faster than loading through them), then analysed. The reference,
 * measured in the same run, is the bare SQL of the unfiltered first page ({@code select … where
 * tenant_id = ? order by time desc limit 100}) over JDBC as the superuser, without HTTP, JSON or
 * row-level security.
 */
@Command(name = "event-list", mixinStandardHelpOptions = true,
        description = "Event list first-page latency over many stored events, through the REST API.")
public final class EventListBenchmark implements Callable<Integer> {

    private static final String COLUMNS = "tenant_id, instance_id, sequence, time, direction, verdict, ip_protocol, "
            + "source_address, source_port, destination_address, destination_port, rule_id, reason, interface";
    private static final String ADMIN_TOKEN = "cf_bench-admin-token-for-the-event-list-benchmark";
    /** Share of the events per tenant: one large tenant, a long tail. */
    private static final double[] TENANT_SHARES = {0.50, 0.25, 0.15, 0.07, 0.03};
    private static final int INSTANCES_PER_TENANT = 4;
    /** The large tenant's fifth instance, a quiet host: one event in this many of the tenant's. */
    private static final int QUIET_INSTANCE_ONE_IN = 5000;
    private static final int RULES = 50;

    @Option(names = "--events", defaultValue = "20000000", description = "events stored (default ${DEFAULT-VALUE})")
    long events;

    @Option(names = "--days", defaultValue = "3", description = "days the events span, ending now (default ${DEFAULT-VALUE})")
    int days;

    @Option(names = "--requests", defaultValue = "200", description = "timed requests per query (default ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--warmup", defaultValue = "20", description = "untimed requests per query first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--data-dir", defaultValue = "/tmp/clawfence-event-list-bench",
            description = "PostgreSQL data directory, deleted at the end (default ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--schema-sql", description = "SQL run as the superuser after the migrations, to try another index shape")
    String schemaSql;

    private final List<UUID> tenants = new ArrayList<>();
    private final List<List<UUID>> instances = new ArrayList<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new EventListBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(dataDir);
        // The embedded control plane's own server settings (durable, sized from the machine).
        try (EmbeddedPostgres postgres = ServerSettings.apply(EmbeddedPostgres.builder(), ServerSettings.tuned("auto"))
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(true)
                .start()) {
            String url = "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
            prepare(url);
            load(url);
            System.out.printf("%,d events over %d days, %d tenants (%s of the events), %d instances each; %d cores, load average %s%n",
                    events, days, tenants.size(), Arrays.toString(TENANT_SHARES), INSTANCES_PER_TENANT,
                    Runtime.getRuntime().availableProcessors(), loadAverage());
            EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, serverProperties(url));
            try {
                measure(url, URI.create("http://localhost:" + server.getPort()));
            } finally {
                server.getApplicationContext().close();
                checkpoint(url);
            }
        }
        return 0;
    }

    /**
     * Writes the dirty pages now: the embedded server's stop waits 5 s, and the shutdown checkpoint of
     * gigabytes of freshly built indexes took longer, which left the server running and its data
     * directory behind.
     */
    private static void checkpoint(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
            s.execute("checkpoint");
        }
    }

    private Map<String, Object> serverProperties(String url) {
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("micronaut.server.port", -1);
        props.put("grpc.server.port", freePort());
        props.put("clawfence.agent-gateway.port", 0);
        props.put("clawfence.admin-token", ADMIN_TOKEN);
        props.put("clawfence.database.url", url);
        props.put("clawfence.database.user", "postgres");
        props.put("clawfence.database.password", "postgres");
        props.put("clawfence.database.app-user", "clawfence_app");
        props.put("clawfence.database.app-password", "bench");
        return props;
    }

    private void prepare(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
            s.execute("create role clawfence_app login nosuperuser nobypassrls password 'bench'");
        }
        Flyway.configure().dataSource(url, "postgres", "postgres").locations("classpath:db/migration")
                .placeholders(Map.of("appRole", "clawfence_app")).load().migrate();
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
            if (schemaSql != null) {
                s.execute(schemaSql);
            }
            for (int t = 0; t < TENANT_SHARES.length; t++) {
                UUID tenant = UUID.randomUUID();
                tenants.add(tenant);
                s.execute("insert into tenants (id, name) values ('" + tenant + "', 'bench-" + t + "')");
                List<UUID> own = new ArrayList<>();
                for (int i = 0; i < INSTANCES_PER_TENANT + (t == 0 ? 1 : 0); i++) {
                    UUID instance = UUID.randomUUID();
                    own.add(instance);
                    s.execute("insert into instances (id, tenant_id, hostname) values ('" + instance + "', '" + tenant + "', 'host-" + i + "')");
                }
                instances.add(own);
            }
            c.setAutoCommit(false);
            EventPartitions.maintain(c, Instant.now(), 30, 3);
            c.commit();
        }
    }

    /** Drops the indexes, loads the rows in time order by binary COPY, rebuilds the indexes, analyses. */
    private void load(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
            List<String[]> indexes = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("select indexname, indexdef from pg_indexes where tablename = 'connection_events'")) {
                while (rs.next()) {
                    indexes.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            for (String[] index : indexes) {
                s.execute("drop index " + index[0]);
            }
            long start = System.nanoTime();
            generate(c);
            double loadSeconds = (System.nanoTime() - start) / 1e9;
            start = System.nanoTime();
            s.execute("set maintenance_work_mem = '512MB'");
            for (String[] index : indexes) {
                // pg_indexes shows a partitioned index as "ON ONLY" (the parent alone); build it on every partition.
                s.execute(index[1].replace(" ON ONLY ", " ON "));
            }
            double indexSeconds = (System.nanoTime() - start) / 1e9;
            start = System.nanoTime();
            s.execute("vacuum analyze connection_events");
            double analyseSeconds = (System.nanoTime() - start) / 1e9;
            long bytes;
            try (ResultSet rs = s.executeQuery("select sum(pg_total_relation_size(inhrelid)) from pg_inherits "
                    + "where inhparent = 'connection_events'::regclass")) {
                rs.next();
                bytes = rs.getLong(1);
            }
            System.out.printf("load: COPY %.1f s (%,.0f rows/s), %d indexes rebuilt in %.1f s, vacuum analyze %.1f s, %,d MB on disk%n",
                    loadSeconds, events / loadSeconds, indexes.size(), indexSeconds, analyseSeconds, bytes >> 20);
        }
    }

    /**
     * Events in time order over the last {@code days}: mostly inbound probes from a skewed set of
     * sources (a few hot addresses, many cold IPv6 ones), outbound to a skewed set of destinations,
     * ports 443/22/80 with a tail, 55% blocked, allowed ones attributed to fifty rules with a Zipf skew,
     * ICMP on 2% (ICMPv6 for IPv6 peers), one blocked inbound attempt in 1,000 blocked by country, and a
     * quiet fifth instance of the large tenant. Only documentation prefixes appear (these are stored rows;
     * nothing is sent).
     */
    private void generate(Connection c) throws SQLException {
        SplittableRandom random = new SplittableRandom(42);
        long endMicros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now().minusSeconds(60));
        long spanMicros = Duration.ofDays(days).toNanos() / 1000;
        long[][] sequences = new long[TENANT_SHARES.length][INSTANCES_PER_TENANT + 1];
        double[] cumulative = new double[RULES];
        double sum = 0;
        for (int r = 0; r < RULES; r++) {
            sum += 1.0 / (r + 1);
            cumulative[r] = sum;
        }
        int chunk = 100_000;
        BinaryCopyRows rows = new BinaryCopyRows(chunk * 150);
        int inChunk = 0;
        for (long i = 0; i < events; i++) {
            long time = endMicros - spanMicros + spanMicros * i / events;
            double pick = random.nextDouble();
            int t = 0;
            for (double acc = TENANT_SHARES[0]; pick > acc && t < TENANT_SHARES.length - 1; acc += TENANT_SHARES[++t]) {
                // walks to the tenant whose share covers pick
            }
            int n = t == 0 && random.nextInt(QUIET_INSTANCE_ONE_IN) == 0 ? INSTANCES_PER_TENANT : random.nextInt(INSTANCES_PER_TENANT);
            ByteString host = v4(192, 0, 2, 10 + t * INSTANCES_PER_TENANT + n);
            boolean inbound = random.nextInt(4) != 0;
            int v = random.nextInt(100);
            String verdict = v < 55 ? "blocked" : v < 95 ? "allowed" : "would-block";
            ByteString peer;
            int roll = random.nextInt(100);
            if (inbound) {
                peer = roll < 30 ? v4(203, 0, 113, random.nextInt(8)) // a few hot scanners
                        : roll < 70 ? v4(203, 0, 113, random.nextInt(256))
                        : roll < 85 ? v4(198, 51, 100, random.nextInt(256))
                        : v6(random.nextLong()); // many cold IPv6 sources
            } else {
                peer = roll < 60 ? v4(198, 51, 100, random.nextInt(16)) : v4(198, 51, 100, random.nextInt(256));
            }
            int p = random.nextInt(1000);
            int port = p < 600 ? 443 : p < 800 ? 22 : p < 900 ? 80 : p < 910 ? 3389 : 1 + random.nextInt(65535);
            int protocol = p < 20 ? (peer.size() == 16 ? 58 : 1) : random.nextInt(8) == 0 ? 17 : 6;
            String rule = "";
            String reason;
            if (verdict.equals("allowed")) {
                double z = random.nextDouble() * sum;
                int r = 0;
                while (cumulative[r] < z) {
                    r++;
                }
                rule = (inbound ? "in-allow-" : "out-dest-") + Integer.toHexString(0x1000 + r * 97);
                reason = inbound ? "allowlisted" : "destination-allowed";
            } else {
                reason = !inbound ? "unknown-destination" : random.nextInt(1000) == 0 ? "geo"
                        : port == 443 ? "not-allowlisted" : "port-closed";
            }
            if (peer.size() == 16) {
                host = v6Host(t * INSTANCES_PER_TENANT + n);
            }
            rows.row(14);
            rows.uuid(tenants.get(t));
            rows.uuid(instances.get(t).get(n));
            rows.bigint(++sequences[t][n]);
            rows.timestamptz(time);
            rows.text(inbound ? "inbound" : "outbound");
            rows.text(verdict);
            rows.smallint(protocol);
            rows.inet(inbound ? peer : host);
            rows.integer(1024 + random.nextInt(64000));
            rows.inet(inbound ? host : peer);
            rows.integer(protocol == 1 ? 0 : port);
            rows.text(rule);
            rows.text(reason);
            rows.text("eth0");
            if (++inChunk == chunk || i == events - 1) {
                rows.finish();
                CopyIn copy = c.unwrap(PGConnection.class).getCopyAPI()
                        .copyIn("copy connection_events (" + COLUMNS + ") from stdin (format binary)");
                copy.writeToCopy(rows.buffer(), 0, rows.length());
                copy.endCopy();
                rows = new BinaryCopyRows(chunk * 150);
                inChunk = 0;
            }
        }
    }

    private record Query(String name, String parameters) {}

    private void measure(String url, URI base) throws Exception {
        UUID big = tenants.getFirst();
        Instant now = Instant.now();
        String narrowFrom = enc(now.minus(Duration.ofHours(6)).truncatedTo(ChronoUnit.SECONDS).toString());
        String narrowTo = enc(now.minus(Duration.ofHours(6)).plus(Duration.ofMinutes(10)).truncatedTo(ChronoUnit.SECONDS).toString());
        List<Query> queries = List.of(
                new Query("no filter", ""),
                new Query("verdict=blocked", "verdict=blocked"),
                new Query("direction+verdict", "direction=outbound&verdict=allowed"),
                new Query("address /24 (hot)", "address=" + enc("203.0.113.0/24")),
                new Query("address single (cold)", "address=198.51.100.200"),
                new Query("address IPv6 /48 (rare)", "address=" + enc("2001:db8:1234::/48")),
                new Query("address single (hot)", "address=203.0.113.3"),
                new Query("address /20 (none)", "address=" + enc("192.0.0.0/20")),
                new Query("address IPv6 /40 (rare)", "address=" + enc("2001:db8:1200::/40")),
                new Query("rule (frequent)", "rule=in-allow-1000"),
                new Query("rule (rare)", "rule=out-dest-" + Integer.toHexString(0x1000 + 49 * 97)),
                new Query("port=22", "port=22"),
                new Query("port=3389 (1%)", "port=3389"),
                new Query("port=8443 (rare)", "port=8443"),
                new Query("narrow time (10 min)", "from=" + narrowFrom + "&to=" + narrowTo),
                new Query("verdict+direction+port", "direction=inbound&verdict=blocked&port=22"),
                new Query("instance (busy, 25%)", "instance=" + instances.getFirst().getFirst()),
                new Query("instance (quiet, 0.02%)", "instance=" + instances.getFirst().get(INSTANCES_PER_TENANT)),
                new Query("protocol=udp (12%)", "protocol=udp"),
                new Query("protocol=icmpv6 (rare)", "protocol=icmpv6"),
                new Query("reason=geo (rare)", "reason=geo"),
                new Query("reason=platform (none)", "reason=platform"));
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        System.out.printf("%-26s %7s %9s %9s %9s %9s%n", "query (tenant with 50%)", "items", "p50 ms", "p95 ms", "p99 ms", "max ms");

        // The reference: the unfiltered first page as bare SQL, no HTTP, no JSON, no row-level security.
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres");
                PreparedStatement s = c.prepareStatement("select " + COLUMNS + ", country from connection_events "
                        + "where tenant_id = ? and time >= ? and time < ? order by time desc, instance_id desc, sequence desc limit 101")) {
            Histogram h = new Histogram(3);
            for (int i = 0; i < warmup + requests; i++) {
                long start = System.nanoTime();
                s.setObject(1, big);
                s.setObject(2, java.time.OffsetDateTime.now().minusDays(1));
                s.setObject(3, java.time.OffsetDateTime.now());
                int count = 0;
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        count++;
                    }
                }
                if (i >= warmup) {
                    h.recordValue(System.nanoTime() - start);
                }
                if (count != 101) {
                    throw new IllegalStateException("reference returned " + count + " rows");
                }
            }
            print("reference: bare SQL", 100, h);
        }

        for (Query query : queries) {
            String path = base + "/api/v1/tenants/" + big + "/network/events" + (query.parameters().isEmpty() ? "" : "?" + query.parameters());
            Histogram h = new Histogram(3);
            int items = 0;
            for (int i = 0; i < warmup + requests; i++) {
                long start = System.nanoTime();
                String body = get(http, path);
                long elapsed = System.nanoTime() - start;
                if (i >= warmup) {
                    h.recordValue(elapsed);
                }
                items = count(body);
            }
            print(query.name(), items, h);
        }

        // The second page: the cursor of a blocked first page, fetched over and over.
        String first = base + "/api/v1/tenants/" + big + "/network/events?verdict=blocked";
        Matcher m = Pattern.compile("\"nextCursor\":\"([^\"]+)\"").matcher(get(http, first));
        if (!m.find()) {
            throw new IllegalStateException("no nextCursor on the first page");
        }
        String second = first + "&cursor=" + m.group(1);
        Histogram h = new Histogram(3);
        int items = 0;
        for (int i = 0; i < warmup + requests; i++) {
            long start = System.nanoTime();
            String body = get(http, second);
            if (i >= warmup) {
                h.recordValue(System.nanoTime() - start);
            }
            items = count(body);
        }
        print("second page (cursor)", items, h);
        System.out.printf("load average %s%n", loadAverage());
    }

    private static String get(HttpClient http, String uri) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(uri))
                .header("Authorization", "Bearer " + ADMIN_TOKEN).header("Accept", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(uri + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static int count(String body) {
        int count = 0;
        for (int i = body.indexOf("\"sequence\""); i >= 0; i = body.indexOf("\"sequence\"", i + 1)) {
            count++;
        }
        return count;
    }

    private static void print(String name, int items, Histogram h) {
        System.out.printf("%-26s %7d %9.1f %9.1f %9.1f %9.1f%n", name, items, h.getValueAtPercentile(50) / 1e6,
                h.getValueAtPercentile(95) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getMaxValue() / 1e6);
    }

    private static String enc(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static ByteString v4(int a, int b, int c, int d) {
        return ByteString.copyFrom(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    }

    /** An address in 2001:db8::/32 with random lower 96 bits. */
    private static ByteString v6(long bits) {
        byte[] bytes = new byte[16];
        bytes[0] = 0x20;
        bytes[1] = 0x01;
        bytes[2] = 0x0d;
        bytes[3] = (byte) 0xb8;
        for (int i = 0; i < 8; i++) {
            bytes[8 + i] = (byte) (bits >>> (8 * i));
        }
        bytes[4] = (byte) (bits >>> 13);
        bytes[5] = (byte) (bits >>> 29);
        return ByteString.copyFrom(bytes);
    }

    private static ByteString v6Host(int n) {
        byte[] bytes = new byte[16];
        bytes[0] = 0x20;
        bytes[1] = 0x01;
        bytes[2] = 0x0d;
        bytes[3] = (byte) 0xb8;
        bytes[4] = (byte) 0xff;
        bytes[15] = (byte) n;
        return ByteString.copyFrom(bytes);
    }

    private static int freePort() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ", 4)[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
