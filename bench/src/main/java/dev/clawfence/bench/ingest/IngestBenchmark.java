package dev.clawfence.bench.ingest;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.database.ServerSettings;
import dev.clawfence.controlplane.events.BinaryCopyRows;
import dev.clawfence.controlplane.events.EventLiveStream;
import dev.clawfence.controlplane.events.EventPartitions;
import dev.clawfence.controlplane.events.EventRollups;
import dev.clawfence.controlplane.events.EventStore;
import dev.clawfence.controlplane.events.PendingRollups;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flywaydb.core.Flyway;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Ingests generated connection events through {@link EventStore} (mark lock, binary COPY into the
 * stage, INSERT into the partitioned table under row-level security, the rollups, mark update, the live
 * stream's batch log, one durable commit per batch; once more without the rollups, to see their cost) and, as references in the same run, raw binary and text COPY of the same rows straight
 * into {@code connection_events} as the superuser, with the same batches and commits. Every phase
 * starts from an empty table after a checkpoint.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true,
        description = "Connection event ingest vs raw COPY of the same rows into the same table.")
public final class IngestBenchmark implements Callable<Integer> {

    private static final String COLUMNS = "tenant_id, instance_id, sequence, time, direction, verdict, ip_protocol, "
            + "source_address, source_port, destination_address, destination_port, rule_id, reason, interface";
    private static final String ROLLUP_TABLES = "event_counts_minute, rule_counter_minute, rule_hits_daily, traffic_sources_hourly, "
            + "traffic_destinations_hourly, traffic_source_ports_daily";

    @Option(names = "--events", defaultValue = "2000000", description = "events per phase (default ${DEFAULT-VALUE})")
    int events;

    @Option(names = "--batch", defaultValue = "2000", description = "events per batch and transaction (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--streams", defaultValue = "1", description = "instances ingesting in parallel, one connection each (default ${DEFAULT-VALUE})")
    int streams;

    @Option(names = "--rounds", defaultValue = "1", description = "times to run the three phases (default ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--skip-no-rollups", description = "skip the EventStore phase without rollups (run by default, to show their cost)")
    boolean skipNoRollups;

    @Option(names = "--settings", split = ",", defaultValue = "tuned",
            description = "server settings to run every phase under, in turn: tuned (the control plane's, ServerSettings.tuned) "
                    + "or durable (only fsync, synchronous_commit, full_page_writes on: PostgreSQL's defaults otherwise), "
                    + "each optionally followed by /name=value server settings of its own (tuned/wal_init_zero=off); default ${DEFAULT-VALUE}")
    List<String> settings = new ArrayList<>();

    @Option(names = "--shared-buffers", defaultValue = "auto", description = "shared_buffers of the tuned settings (default ${DEFAULT-VALUE})")
    String sharedBuffers;

    @Option(names = "--statements", description = "load pg_stat_statements and print where the server's time went in each EventStore phase")
    boolean statements;

    @Option(names = "--warmup", defaultValue = "200000", description = "events per stream-set written once untimed by every "
            + "phase's code before the timed phases, so that the JIT compiles the client first (default ${DEFAULT-VALUE})")
    int warmupEvents;

    @Option(names = "--rollup-intervals", split = ",", defaultValue = "2s",
            description = "how long the rollups wait in memory (clawfence.events.rollup-interval), one rollup phase each: "
                    + "0s writes them in every batch's transaction (default ${DEFAULT-VALUE})")
    List<String> rollupIntervals = new ArrayList<>();

    @Option(names = "--skip-text", description = "skip the raw text COPY phase")
    boolean skipText;

    @Option(names = "--drop-index", split = ",", description = "indexes of connection_events to drop first, to see what they cost")
    List<String> dropIndexes = new ArrayList<>();

    @Option(names = "--index-stats", description = "print each index's size after every phase, with the leaf density of a btree or the pending pages of a GIN index (pgstattuple)")
    boolean indexStats;

    @Option(names = "--schema-sql", description = "SQL run as the superuser after the migrations, to try another index "
            + "shape; given several times, the n-th goes to the n-th server of --settings (an empty one changes nothing), so "
            + "that shapes alternate phase by phase in one run")
    List<String> schemaSql = new ArrayList<>();

    private final UUID tenant = UUID.randomUUID();
    private final List<UUID> instances = new ArrayList<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new IngestBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        List<List<EventBatch>> work = generate();
        for (int i = 0; i < streams; i++) {
            instances.add(UUID.randomUUID());
        }
        // One server per settings, all running; each phase runs on every server in turn, so a change in
        // the machine's load (shared here) hits the compared settings alike.
        List<String> names = new ArrayList<>();
        List<String> urls = new ArrayList<>();
        List<EmbeddedPostgres> servers = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        try {
            for (String name : settings) {
                // "tuned/wal_init_zero=off": a named set with settings of its own on top, to compare one change.
                String[] parts = name.split("/");
                Map<String, String> server = switch (parts[0]) {
                    case "tuned" -> ServerSettings.tuned(sharedBuffers);
                    case "durable" -> ServerSettings.durable();
                    default -> throw new CommandLine.ParameterException(new CommandLine(this),
                            "--settings: \"" + parts[0] + "\" is not tuned or durable");
                };
                for (int p = 1; p < parts.length; p++) {
                    String[] setting = parts[p].split("=", 2);
                    if (setting.length != 2 || setting[0].isBlank()) {
                        throw new CommandLine.ParameterException(new CommandLine(this),
                                "--settings: \"" + parts[p] + "\" in \"" + name + "\" is not name=value");
                    }
                    server.put(setting[0], setting[1]);
                }
                if (statements) {
                    server.put("shared_preload_libraries", "pg_stat_statements");
                }
                Path data = Files.createTempDirectory("clawfence-ingest-bench");
                dirs.add(data);
                EmbeddedPostgres postgres = ServerSettings.apply(EmbeddedPostgres.builder(), server)
                        .setDataDirectory(data).setCleanDataDirectory(true).start();
                servers.add(postgres);
                String url = "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
                String schema = schemaSql.isEmpty() ? "" : schemaSql.get(Math.min(servers.size() - 1, schemaSql.size() - 1));
                prepare(url, schema);
                names.add(schemaSql.size() > 1 ? name + "#" + servers.size() : name);
                urls.add(url);
                System.out.printf("settings %s: %s%n", name, server);
            }
            System.out.printf("events %,d per phase, batches of %,d, %d stream(s), %s, %d cores, load average %s%n",
                    events, batchSize, streams, dropIndexes.isEmpty() ? "all indexes" : "without " + dropIndexes,
                    Runtime.getRuntime().availableProcessors(), loadAverage());
            EventStore store = new EventStore(Clock.systemUTC(), 30, Duration.ofHours(1));
            BatchWriter noRollups = (c, stream, batch) -> ingest(store, c, stream, batch, null);
            List<Duration> intervals = rollupIntervals.stream().map(IngestBenchmark::duration).toList();
            if (warmupEvents > 0) {
                int batches = Math.max(1, warmupEvents / streams / batchSize);
                List<List<EventBatch>> warm = work.stream().map(l -> l.subList(0, Math.min(batches, l.size()))).toList();
                for (int i = 0; i < 2; i++) {
                    phase(urls.getFirst(), "warm-up", "", warm, this::copyBinary, "postgres", "postgres");
                    phase(urls.getFirst(), "warm-up", "", warm, this::copyText, "postgres", "postgres");
                    phase(urls.getFirst(), "warm-up", "", warm, noRollups, "clawfence_app", "bench");
                    for (Duration interval : intervals) {
                        phase(urls.getFirst(), "warm-up", "", warm, new RollupIngest(store, interval), "clawfence_app", "bench");
                    }
                }
            }
            for (int round = 1; round <= rounds; round++) {
                int n = urls.size();
                double[] binary = new double[n];
                double[] text = new double[n];
                java.util.Arrays.fill(text, Double.NaN);
                double[] bare = new double[n];
                double[][] ingest = new double[intervals.size()][n];
                java.util.Arrays.fill(bare, Double.NaN);
                // Every other round runs the servers in the opposite order, so neither always goes first.
                boolean odd = round % 2 == 1;
                int[] order = java.util.stream.IntStream.range(0, n).map(i -> odd ? i : n - 1 - i).toArray();
                for (int i : order) {
                    binary[i] = phase(urls.get(i), names.get(i), "raw COPY binary (superuser)", work, this::copyBinary, "postgres", "postgres");
                }
                for (int i : skipText ? new int[0] : order) {
                    text[i] = phase(urls.get(i), names.get(i), "raw COPY text (superuser)", work, this::copyText, "postgres", "postgres");
                }
                if (!skipNoRollups) {
                    for (int i : order) {
                        bare[i] = phase(urls.get(i), names.get(i), "EventStore ingest, no rollups", work, noRollups,
                                "clawfence_app", "bench");
                    }
                }
                for (int i : order) {
                    for (int j = 0; j < intervals.size(); j++) {
                        int k = odd ? j : intervals.size() - 1 - j;
                        ingest[k][i] = phase(urls.get(i), names.get(i), "EventStore + rollups " + rollupIntervals.get(k), work,
                                new RollupIngest(store, intervals.get(k)), "clawfence_app", "bench");
                        checkRollups(urls.get(i));
                        printRollups(urls.get(i));
                        System.out.println("  report queries on the rows as ingest appended them:");
                        timeReports(urls.get(i));
                        compact(urls.get(i));
                        printRollups(urls.get(i));
                        System.out.println("  report queries after the compaction:");
                        timeReports(urls.get(i));
                    }
                }
                for (int i : order) {
                    StringBuilder ratios = new StringBuilder();
                    for (int k = 0; k < intervals.size(); k++) {
                        ratios.append(String.format("ingest+rollups %s/binary COPY = %.2f, ", rollupIntervals.get(k), ingest[k][i] / binary[i]));
                    }
                    System.out.printf("round %d, %s: %sno rollups/binary = %.2f, text/binary COPY = %.2f, load average %s%n",
                            round, names.get(i), ratios, bare[i] / binary[i], text[i] / binary[i], loadAverage());
                }
            }
        } finally {
            for (EmbeddedPostgres postgres : servers) {
                postgres.close();
            }
            // EmbeddedPostgres cleans its data directory on close; remove the temporary parent if left.
            for (Path data : dirs) {
                Files.deleteIfExists(data);
            }
        }
        return 0;
    }

    private interface BatchWriter {
        void write(Connection connection, int stream, EventBatch batch) throws SQLException;

        /** After the commit of each {@link #write}. */
        default void committed(int stream) {}

        /** After the stream's last batch, timed with the phase, in a transaction of its own. */
        default void finish(Connection connection, int stream) throws SQLException {}
    }

    /**
     * What EventIngest does: the rollups of each stream's instance wait in memory for the interval and are
     * written in the transaction of a later batch; what is left at the end is written (and timed) last.
     */
    private final class RollupIngest implements BatchWriter {
        private final EventStore store;
        private final PendingRollups pending;
        private final Map<Integer, PendingRollups.Pending> open = new java.util.concurrent.ConcurrentHashMap<>();

        RollupIngest(EventStore store, Duration interval) {
            this.store = store;
            this.pending = new PendingRollups(interval);
        }

        @Override
        public void write(Connection c, int stream, EventBatch batch) throws SQLException {
            PendingRollups.Pending held = pending.open(tenant, instances.get(stream));
            open.put(stream, held);
            ingest(store, c, stream, batch, held);
        }

        @Override
        public void committed(int stream) {
            try (PendingRollups.Pending held = open.remove(stream)) {
                held.committed();
            }
        }

        @Override
        public void finish(Connection c, int stream) throws SQLException {
            try (PendingRollups.Pending held = pending.open(tenant, instances.get(stream))) {
                setTenant(c);
                store.writeRollups(c, held);
                c.commit();
                held.committed();
            }
        }
    }

    private double phase(String url, String settingsName, String name, List<List<EventBatch>> work, BatchWriter writer,
            String user, String password) throws Exception {
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement()) {
            s.execute("truncate connection_events, event_ingest_marks, event_stream_batches, " + ROLLUP_TABLES);
            s.execute("checkpoint");
            if (statements) {
                s.execute("create extension if not exists pg_stat_statements");
                s.execute("select pg_stat_statements_reset()");
            }
        }
        long[] walStart = walAndCheckpoints(url);
        ExecutorService pool = Executors.newFixedThreadPool(streams);
        long cpuStart = processCpuNanos();
        long serverStart = serverCpuTicks(url);
        long start = System.nanoTime();
        List<Future<Void>> done = new ArrayList<>();
        for (int stream = 0; stream < streams; stream++) {
            int id = stream;
            done.add(pool.submit(() -> {
                try (Connection c = DriverManager.getConnection(url, user, password)) {
                    c.setAutoCommit(false);
                    for (EventBatch batch : work.get(id)) {
                        writer.write(c, id, batch);
                        c.commit();
                        writer.committed(id);
                    }
                    writer.finish(c, id);
                }
                return null;
            }));
        }
        for (Future<Void> f : done) {
            f.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double clientCpu = (processCpuNanos() - cpuStart) / 1e9;
        double serverCpu = (serverCpuTicks(url) - serverStart) / (double) CLOCK_TICKS;
        long[] walEnd = walAndCheckpoints(url);
        pool.shutdown();
        long rows;
        long bytes;
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement();
                ResultSet rs = s.executeQuery("select (select count(*) from connection_events), "
                        + "(select sum(pg_total_relation_size(inhrelid)) from pg_inherits "
                        + "where inhparent = 'connection_events'::regclass)")) {
            rs.next();
            rows = rs.getLong(1);
            bytes = rs.getLong(2);
        }
        long expected = work.stream().flatMap(List::stream).mapToLong(EventBatch::getEventsCount).sum();
        if (rows != expected) {
            throw new IllegalStateException(name + " stored " + rows + " rows, expected " + expected);
        }
        if (settingsName.equals("warm-up")) {
            return rows / seconds;
        }
        if (indexStats) {
            printIndexStats(url);
        }
        double rate = rows / seconds;
        if (statements && user.equals("clawfence_app")) {
            try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement();
                    ResultSet rs = s.executeQuery("select calls, total_exec_time, rows, regexp_replace(left(query, 90), '\\s+', ' ', 'g') "
                            + "from pg_stat_statements where userid = 'clawfence_app'::regrole order by 2 desc limit 14")) {
                while (rs.next()) {
                    System.out.printf("    %8.0f ms %7d calls %9d rows  %s%n", rs.getDouble(2), rs.getLong(1), rs.getLong(3), rs.getString(4));
                }
            }
        }
        System.out.printf("%-8s %-32s %,10.0f events/s  (%,d rows in %.2f s, server CPU %.2f µs/event, benchmark JVM CPU %.2f s, "
                + "%d B/row with indexes, WAL %,d MB, %d checkpoints, load average %s)%n",
                settingsName, name, rate, rows, seconds, serverCpu * 1e6 / rows, clientCpu, bytes / rows,
                (walEnd[0] - walStart[0]) >> 20, walEnd[1] - walStart[1], loadAverage());
        return rate;
    }

    /** Per index of connection_events, summed over its partitions: size, and leaf density of the largest partition's. */
    private static void printIndexStats(String url) throws SQLException {
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement()) {
            s.execute("create extension if not exists pgstattuple");
            try (ResultSet rs = s.executeQuery("""
                    with parts as (
                      select i.indexrelid, p.inhparent as parent_index, pg_relation_size(i.indexrelid) as bytes
                      from pg_index i join pg_inherits p on p.inhrelid = i.indexrelid
                      join pg_class t on t.oid = i.indrelid join pg_inherits tp on tp.inhrelid = t.oid
                      where tp.inhparent = 'connection_events'::regclass)
                    select parent_index::regclass::text, sum(bytes), am.amname,
                           case when am.amname = 'btree'
                                then (select avg_leaf_density from pgstatindex((array_agg(indexrelid order by bytes desc))[1])) end,
                           case when am.amname = 'gin'
                                then (select pending_pages from pgstatginindex((array_agg(indexrelid order by bytes desc))[1])) end
                    from parts join pg_class c on c.oid = parent_index join pg_am am on am.oid = c.relam
                    group by parent_index, am.amname order by 1""")) {
                while (rs.next()) {
                    String detail = rs.getString(3).equals("btree") ? String.format("leaf density %.1f %%", rs.getDouble(4))
                            : rs.getString(3).equals("gin") ? "pending list " + rs.getLong(5) + " pages" : rs.getString(3);
                    System.out.printf("    index %-40s %,8d kB, %s%n", rs.getString(1), rs.getLong(2) >> 10, detail);
                }
            }
        }
    }

    private void setTenant(Connection c) throws SQLException {
        try (PreparedStatement context = c.prepareStatement("select set_config('clawfence.tenant_id', ?, true)")) {
            context.setString(1, tenant.toString());
            context.execute();
        }
    }

    private void ingest(EventStore store, Connection c, int stream, EventBatch batch, PendingRollups.Pending pending)
            throws SQLException {
        setTenant(c);
        // What EventIngest does in the same transaction: the live stream's batch log (V010).
        if (store.ingest(c, tenant, instances.get(stream), batch, pending).stored() > 0) {
            EventLiveStream.recordBatch(c, tenant, instances.get(stream));
        }
    }

    private void copyBinary(Connection c, int stream, EventBatch batch) throws SQLException {
        BinaryCopyRows rows = new BinaryCopyRows(batch.getEventsCount() * 180);
        UUID instance = instances.get(stream);
        for (ConnectionEvent e : batch.getEventsList()) {
            rows.row(14);
            rows.uuid(tenant);
            rows.uuid(instance);
            rows.bigint(e.getSequence());
            rows.timestamptz(e.getTimeEpochMicros());
            rows.text(e.getDirection() == Direction.DIRECTION_INBOUND ? "inbound" : "outbound");
            rows.text(verdict(e.getVerdict()));
            rows.smallint(e.getIpProtocol());
            rows.inet(e.getSourceAddress());
            rows.integer(e.getSourcePort());
            rows.inet(e.getDestinationAddress());
            rows.integer(e.getDestinationPort());
            rows.text(e.getRuleId());
            rows.text(e.getReason());
            rows.text(e.getInterface());
        }
        rows.finish();
        copy(c, "copy connection_events (" + COLUMNS + ") from stdin (format binary)", rows.buffer(), rows.length());
    }

    private void copyText(Connection c, int stream, EventBatch batch) throws SQLException {
        StringBuilder text = new StringBuilder(batch.getEventsCount() * 200);
        UUID instance = instances.get(stream);
        for (ConnectionEvent e : batch.getEventsList()) {
            Instant time = Instant.EPOCH.plus(e.getTimeEpochMicros(), ChronoUnit.MICROS);
            text.append(tenant).append('\t').append(instance).append('\t').append(e.getSequence()).append('\t')
                    .append(time).append('\t')
                    .append(e.getDirection() == Direction.DIRECTION_INBOUND ? "inbound" : "outbound").append('\t')
                    .append(verdict(e.getVerdict())).append('\t').append(e.getIpProtocol()).append('\t')
                    .append(address(e.getSourceAddress())).append('\t').append(e.getSourcePort()).append('\t')
                    .append(address(e.getDestinationAddress())).append('\t').append(e.getDestinationPort()).append('\t')
                    .append(e.getRuleId()).append('\t').append(e.getReason()).append('\t').append(e.getInterface())
                    .append('\n');
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        copy(c, "copy connection_events (" + COLUMNS + ") from stdin", bytes, bytes.length);
    }

    private static void copy(Connection c, String sql, byte[] bytes, int length) throws SQLException {
        CopyIn copy = c.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
        copy.writeToCopy(bytes, 0, length);
        copy.endCopy();
    }

    private static String verdict(Verdict verdict) {
        return switch (verdict) {
            case VERDICT_ALLOWED -> "allowed";
            case VERDICT_BLOCKED -> "blocked";
            default -> "would-block";
        };
    }

    private static String address(ByteString bytes) {
        try {
            return InetAddress.getByAddress(bytes.toByteArray()).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Schema, roles, one tenant with one instance per stream, and the partitions. */
    private void prepare(String url, String schema) throws SQLException {
        Flyway.configure().dataSource(url, "postgres", "postgres").locations("classpath:db/migration")
                .placeholders(Map.of("appRole", "clawfence_app")).load().migrate();
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
            s.execute("alter role clawfence_app login password 'bench'");
            s.execute("insert into tenants (id, name) values ('" + tenant + "', 'bench')");
            for (UUID instance : instances) {
                s.execute("insert into instances (id, tenant_id) values ('" + instance + "', '" + tenant + "')");
            }
            for (String index : dropIndexes) {
                s.execute("drop index " + index);
            }
            if (!schema.isBlank()) {
                s.execute(schema);
                System.out.println("schema: " + schema);
            }
            c.setAutoCommit(false);
            EventPartitions.maintain(c, Instant.now(), 30, 3);
            c.commit();
        }
    }

    /**
     * Per stream, batches of events over the last hour: inbound probes from a few thousand sources in
     * 203.0.113.0/24 and 2001:db8::/32 (one in ten IPv6), outbound to 198.51.100.0/24, fifty rule ids.
     */
    private List<List<EventBatch>> generate() {
        SplittableRandom random = new SplittableRandom(4);
        long perStream = events / streams;
        long startMicros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now().minus(Duration.ofHours(1)));
        long stepMicros = Duration.ofHours(1).toNanos() / 1000 / perStream;
        List<String> rules = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            rules.add("in-allow-" + Integer.toHexString(0x1000 + i * 97));
        }
        List<List<EventBatch>> work = new ArrayList<>();
        for (int stream = 0; stream < streams; stream++) {
            List<EventBatch> batches = new ArrayList<>();
            EventBatch.Builder batch = EventBatch.newBuilder();
            for (long seq = 1; seq <= perStream; seq++) {
                boolean inbound = random.nextInt(4) != 0;
                boolean v6 = random.nextInt(10) == 0;
                ByteString host = v6 ? v6(random.nextInt(4096)) : v4(192, 0, 2, 10 + stream);
                ByteString remote = v6 ? v6(0x10000 + random.nextInt(4096))
                        : inbound ? v4(203, 0, 113, random.nextInt(256)) : v4(198, 51, 100, random.nextInt(256));
                int verdict = random.nextInt(10);
                boolean allowed = verdict >= 6 && verdict < 9;
                batch.addEvents(ConnectionEvent.newBuilder()
                        .setSequence(seq)
                        .setTimeEpochMicros(startMicros + seq * stepMicros)
                        .setDirection(inbound ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                        .setIpProtocol(random.nextInt(8) == 0 ? 17 : 6)
                        .setSourceAddress(inbound ? remote : host)
                        .setDestinationAddress(inbound ? host : remote)
                        .setSourcePort(1024 + random.nextInt(64000))
                        .setDestinationPort(random.nextInt(3) == 0 ? 22 : 443)
                        .setVerdict(verdict < 6 ? Verdict.VERDICT_BLOCKED : verdict < 9 ? Verdict.VERDICT_ALLOWED : Verdict.VERDICT_WOULD_BLOCK)
                        .setRuleId(allowed ? rules.get(random.nextInt(rules.size())) : "")
                        .setReason(reason(random, inbound, allowed))
                        .setInterface("eth0"));
                if (batch.getEventsCount() == batchSize || seq == perStream) {
                    batches.add(batch.build());
                    batch = EventBatch.newBuilder();
                }
            }
            work.add(batches);
        }
        return work;
    }

    /** A reason that fits the decision: the policy's steps give each verdict and direction its own reasons. */
    private static String reason(SplittableRandom random, boolean inbound, boolean allowed) {
        if (allowed) {
            return inbound ? "allowlisted" : "destination-allowed";
        }
        int r = random.nextInt(10);
        if (inbound) {
            return r < 7 ? "not-allowlisted" : r < 9 ? "port-closed" : "geo";
        }
        return r < 8 ? "unknown-destination" : "port-closed";
    }

    /** What RollupCompaction does after the load: merges every bucket the load touched, timed. */
    private static void compact(String url) throws SQLException {
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres")) {
            owner.setAutoCommit(false);
            long start = System.nanoTime();
            EventRollups.Compaction done = EventRollups.compact(owner, Instant.now().minus(Duration.ofDays(2)));
            owner.commit();
            System.out.printf("  compaction: %,d rows merged into %,d in %.2f s (%d tenant)%n", done.rowsBefore(),
                    done.rowsAfter(), (System.nanoTime() - start) / 1e9, done.tenants());
        }
    }

    /** Rows in each rollup table after the rollup phase: what the upserts keep per event. */
    /** The rollups count every stored event once: a phase that lost or doubled some fails here. */
    private static void checkRollups(String url) throws SQLException {
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement();
                ResultSet rs = s.executeQuery("""
                        select (select count(*) from connection_events), (select sum(events) from event_counts_minute),
                               (select count(*) from connection_events where direction = 'inbound'),
                               (select sum(allowed + blocked + would_block) from traffic_sources_hourly),
                               (select count(*) from connection_events where direction = 'outbound'),
                               (select sum(allowed + blocked + would_block) from traffic_destinations_hourly)""")) {
            rs.next();
            if (rs.getLong(1) != rs.getLong(2) || rs.getLong(3) != rs.getLong(4) || rs.getLong(5) != rs.getLong(6)) {
                throw new IllegalStateException(String.format("rollups do not match the events: %,d events, %,d counted; "
                        + "%,d inbound, %,d in sources; %,d outbound, %,d in destinations", rs.getLong(1), rs.getLong(2),
                        rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6)));
            }
        }
    }

    /** "2s", "500ms", "0" or an ISO-8601 duration. */
    private static Duration duration(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("0") || t.equals("0s")) {
            return Duration.ZERO;
        }
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        if (t.endsWith("s")) {
            return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
        }
        return Duration.parse(text);
    }

    private void printRollups(String url) throws SQLException {
        StringBuilder line = new StringBuilder("rollup rows:");
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement()) {
            for (String table : ROLLUP_TABLES.split(", ")) {
                try (ResultSet rs = s.executeQuery("select count(*), pg_total_relation_size('" + table + "'), "
                        + "(select autovacuum_count || '/' || autoanalyze_count from pg_stat_user_tables where relid = '" + table
                        + "'::regclass) from " + table)) {
                    rs.next();
                    // autovacuum/autoanalyze runs since the server started (all phases so far)
                    line.append(String.format(" %s %,d (%,d kB, av/aa %s)", table, rs.getLong(1), rs.getLong(2) / 1024, rs.getString(3)));
                }
            }
        }
        System.out.println(line);
    }

    /** How long the report queries take on these rollups, as the app role (median of 5 after a warm-up). */
    private void timeReports(String url) throws SQLException {
        Instant to = Instant.now().plusSeconds(60);
        Instant from = to.minus(Duration.ofDays(1));
        String[][] queries = {
            {"summary (minute buckets, 24 h)", "select date_trunc('minute', minute, 'UTC'), direction, verdict, sum(events) from event_counts_minute where minute >= ? and minute < ? group by 1, 2, 3"},
            {"top 10 blocked sources (24 h)", "select address, sum(blocked) from traffic_sources_hourly where hour >= ? and hour < ? group by address having sum(blocked) > 0 order by 2 desc limit 10"},
            {"top 10 destinations (24 h)", "select address, port, sum(allowed + blocked + would_block) from traffic_destinations_hourly where hour >= ? and hour < ? group by 1, 2 order by 3 desc limit 10"},
            {"port probes (24 h)", "select address, count(distinct port) from traffic_source_ports_daily where day >= (?::timestamptz at time zone 'UTC')::date and day < ?::timestamptz at time zone 'UTC' group by address having count(distinct port) >= 10"},
            {"new sources (7 days)", "select address from traffic_sources_hourly where hour < ? group by address having min(first_seen) >= ?"},
        };
        try (Connection c = DriverManager.getConnection(url, "clawfence_app", "bench")) {
            c.setAutoCommit(false);
            try (PreparedStatement context = c.prepareStatement("select set_config('clawfence.tenant_id', ?, true)")) {
                context.setString(1, tenant.toString());
                context.execute();
            }
            for (String[] query : queries) {
                long[] nanos = new long[6];
                for (int i = 0; i < nanos.length; i++) {
                    long start = System.nanoTime();
                    try (PreparedStatement s = c.prepareStatement(query[1])) {
                        boolean newSources = query[0].startsWith("new");
                        s.setObject(1, java.time.OffsetDateTime.ofInstant(newSources ? to : from, java.time.ZoneOffset.UTC));
                        s.setObject(2, java.time.OffsetDateTime.ofInstant(newSources ? to.minus(Duration.ofDays(7)) : to, java.time.ZoneOffset.UTC));
                        try (ResultSet rs = s.executeQuery()) {
                            while (rs.next()) {
                                // read every row, as the endpoint does
                            }
                        }
                    }
                    nanos[i] = System.nanoTime() - start;
                }
                long[] timed = java.util.Arrays.copyOfRange(nanos, 1, nanos.length);
                java.util.Arrays.sort(timed);
                System.out.printf("  query %-32s %7.1f ms%n", query[0], timed[timed.length / 2] / 1e6);
            }
            c.commit();
        }
    }

    private static ByteString v4(int a, int b, int c, int d) {
        return ByteString.copyFrom(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    }

    private static ByteString v6(int host) {
        byte[] bytes = new byte[16];
        bytes[0] = 0x20;
        bytes[1] = 0x01;
        bytes[2] = 0x0d;
        bytes[3] = (byte) 0xb8;
        bytes[14] = (byte) (host >>> 8);
        bytes[15] = (byte) host;
        return ByteString.copyFrom(bytes);
    }

    /** WAL written so far (bytes) and checkpoints started so far (timed and requested, PostgreSQL 17's pg_stat_checkpointer). */
    private static long[] walAndCheckpoints(String url) throws SQLException {
        try (Connection owner = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = owner.createStatement();
                ResultSet rs = s.executeQuery("select pg_current_wal_lsn() - '0/0'::pg_lsn, num_timed + num_requested from pg_stat_checkpointer")) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    /** CPU time of this JVM (the client side: generating nothing, encoding and sending the batches). */
    /** Linux's USER_HZ, the unit of the CPU times in /proc/PID/stat (100 on every mainstream kernel). */
    private static final int CLOCK_TICKS = 100;

    /**
     * CPU time of the whole server so far, in clock ticks: the postmaster, its live children (backends,
     * WAL writer, checkpointer…) and the children it has reaped (backends of closed connections). Unlike
     * the wall-clock rate, this hardly moves with what else the shared machine runs.
     */
    private static long serverCpuTicks(String url) throws SQLException {
        long postmaster;
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pid from pg_stat_activity where backend_type = 'checkpointer'")) {
            rs.next();
            postmaster = ProcessHandle.of(rs.getLong(1)).flatMap(ProcessHandle::parent).orElseThrow().pid();
        }
        // A closed connection's backend (this method's own included) counts in the postmaster's cutime once
        // reaped, in its own stat while a zombie; wait (up to 5 s) until no client backend is left running.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline && ProcessHandle.of(postmaster).orElseThrow().children()
                .anyMatch(child -> isClientBackend(child.pid()))) {
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // not a spin: the exiting backends need the CPU
        }
        // A child reaped while its siblings are read moves its time into the postmaster's cutime: read again
        // until the reaped time is the same before and after, or that child is counted twice or not at all
        // (which printed ~0.07 µs per event for phases whose backends exited at that moment).
        while (true) {
            String[] before = statFields(postmaster);
            long children = 0;
            for (ProcessHandle child : ProcessHandle.of(postmaster).orElseThrow().children().toList()) {
                String[] fields = statFields(child.pid());
                if (fields.length > 12) {
                    children += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
                }
            }
            String[] after = statFields(postmaster);
            // After the ")" that ends the command name: utime, stime, cutime, cstime are fields 12-15 (0-based).
            if (reaped(before) == reaped(after)) {
                return Long.parseLong(after[11]) + Long.parseLong(after[12]) + reaped(after) + children;
            }
        }
    }

    private static long reaped(String[] postmasterStat) {
        return Long.parseLong(postmasterStat[13]) + Long.parseLong(postmasterStat[14]);
    }

    private static boolean isClientBackend(long pid) {
        try {
            // A backend's title: "postgres: USER DATABASE HOST(PORT) STATE"; auxiliary processes have no host.
            return Files.readString(Path.of("/proc/" + pid + "/cmdline")).contains("(");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static String[] statFields(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        } catch (java.io.IOException e) {
            return new String[0]; // the child exited meanwhile; its time is in the postmaster's cutime next time
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ", 4)[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
