package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.address;
import static dev.clawfence.controlplane.events.Events.event;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.io.StringReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The event list and its CSV export over real HTTP, on events stored through {@link EventIngest}. */
class EventListIT {

    private static final TestServer SERVER = TestServer.get();
    private static final EventIngest INGEST = SERVER.context().getBean(EventIngest.class);
    private static final Instant BASE = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);

    /** One tenant with two instances and 40 varied events, shared by the read-only tests. */
    private static final Fixture FIXTURE = new Fixture();

    private static final class Fixture {
        final UUID tenant = SERVER.admin().createTenant("Event list");
        final Api viewer = SERVER.admin().mintToken(tenant, "viewer");
        final UUID a = instance(tenant);
        final UUID b = instance(tenant);

        Fixture() {
            // 20 events per instance, one a minute, interleaved: instance a at even minutes, b at odd ones.
            INGEST.ingest(tenant, a, batch(1, 20, seq -> BASE.plus(2 * seq, ChronoUnit.MINUTES), a));
            INGEST.ingest(tenant, b, batch(1, 20, seq -> BASE.plus(2 * seq + 1, ChronoUnit.MINUTES), b));
        }
    }

    /** Event {@code seq}: every third blocked outbound to 198.51.100.x:22 by rule "r-ssh", the rest allowed inbound from 203.0.113.x. */
    private static EventBatch batch(long first, long last, java.util.function.LongFunction<Instant> time, UUID instance) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (long seq = first; seq <= last; seq++) {
            ConnectionEvent.Builder e = event(seq, time.apply(seq));
            if (seq % 3 == 0) {
                e.setDirection(Direction.DIRECTION_OUTBOUND).setVerdict(Verdict.VERDICT_BLOCKED)
                        .setSourceAddress(address("192.0.2.10")).setDestinationAddress(address("198.51.100." + seq % 250))
                        .setDestinationPort(22).setRuleId("r-ssh").setReason("unknown-destination");
            } else {
                e.setVerdict(Verdict.VERDICT_ALLOWED).setRuleId("r-web").setReason("allowlisted")
                        .setSourceAddress(address(seq % 2 == 0 ? "2001:db8::" + seq % 250 : "203.0.113." + seq % 250));
                if (seq % 2 == 0) {
                    e.setDestinationAddress(address("2001:db8:ffff::1")).setIpProtocol(17);
                }
            }
            batch.addEvents(e);
        }
        return batch.build();
    }

    @Test
    void pagesWalkTheRangeNewestFirstWithoutGapsOrRepeats() {
        Fixture fixture = new Fixture();
        String path = events(fixture.tenant, "limit=7");
        List<Map<String, Object>> all = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Api.Response r = fixture.viewer.get(cursor == null ? path : path + "&cursor=" + cursor);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            all.addAll(items(r));
            cursor = (String) r.map().get("nextCursor");
            pages++;
            if (pages == 2) {
                // Newer events stored meanwhile do not shift the pages after the first.
                INGEST.ingest(fixture.tenant, fixture.a, batch(1000, 1004, seq -> Instant.now().minusSeconds(5), fixture.a));
            }
        } while (cursor != null);

        assertThat(pages).isEqualTo(6);
        assertThat(all).hasSize(40);
        List<Instant> times = all.stream().map(i -> Instant.parse((String) i.get("time"))).toList();
        assertThat(times).isSortedAccordingTo(java.util.Comparator.reverseOrder());
        assertThat(all.stream().map(i -> i.get("instance") + "/" + i.get("sequence")).distinct()).hasSize(40);
        Map<String, Object> newest = all.getFirst();
        assertThat(newest).containsEntry("instance", fixture.b.toString()).containsEntry("sequence", 20);
        assertThat(new ArrayList<>(newest.keySet())).containsExactlyElementsOf(EventQuery.Item.COLUMNS);
        assertThat((String) newest.get("time")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
    }

    @Test
    void itemCarriesEveryFieldOfTheStoredEvent() {
        Api.Response r = FIXTURE.viewer.get(events(FIXTURE.tenant, "instance=" + FIXTURE.a + "&rule=r-ssh&limit=1"));

        assertThat(items(r)).singleElement().satisfies(item -> assertThat(item)
                .containsEntry("time", BASE.plus(36, ChronoUnit.MINUTES).toString().replace("Z", ".000000Z"))
                .containsEntry("instance", FIXTURE.a.toString()).containsEntry("sequence", 18)
                .containsEntry("direction", "outbound").containsEntry("verdict", "blocked").containsEntry("protocol", "tcp")
                .containsEntry("sourceAddress", "192.0.2.10").containsEntry("sourcePort", 40000)
                .containsEntry("destinationAddress", "198.51.100.18").containsEntry("destinationPort", 22)
                .containsEntry("ruleId", "r-ssh").containsEntry("reason", "unknown-destination")
                .containsEntry("interface", "eth0").containsEntry("country", null));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "verdict=blocked | 12",
        "verdict=blocked,allowed | 40",
        "verdict=allowed&verdict=would-block | 28",
        "direction=outbound&verdict=blocked | 12",
        "direction=inbound&verdict=blocked | 0",
        "address=198.51.100.0/24 | 12",
        "address=198.51.100.9 | 2",
        "address=203.0.113.0/24 | 14",
        "address=2001:db8::/32 | 14",
        "address=203.0.113.5 | 2",
        "port=22 | 12",
        "protocol=udp | 14",
        "protocol=17 | 14",
        "rule=r-web | 28",
        "reason=allowlisted | 28",
        "rule=nope | 0",
        "INSTANCE_A | 20",
    })
    void filtersSelectTheMatchingEvents(String query, int expected) {
        String q = query.equals("INSTANCE_A") ? "instance=" + FIXTURE.a : query;
        Api.Response r = FIXTURE.viewer.get(events(FIXTURE.tenant, q.replace("/", "%2F") + "&limit=1000"));

        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(items(r)).hasSize(expected);
    }

    @Test
    void timeRangeIsFromInclusiveToExclusiveAndDefaultsToTheLastDay() throws Exception {
        String from = enc(BASE.plus(10, ChronoUnit.MINUTES).toString());
        String to = enc(BASE.plus(14, ChronoUnit.MINUTES).toString());
        Api.Response range = FIXTURE.viewer.get(events(FIXTURE.tenant, "from=" + from + "&to=" + to));
        assertThat(items(range)).extracting(i -> i.get("sequence")).containsExactly(6, 6, 5, 5);

        UUID tenant = SERVER.admin().createTenant("Old events");
        UUID instance = instance(tenant);
        INGEST.ingest(tenant, instance, batch(1, 2, seq -> Instant.now().minus(seq == 1 ? 25 : 23, ChronoUnit.HOURS), instance));
        Api.Response recent = SERVER.admin().get(events(tenant, ""));
        assertThat(items(recent)).extracting(i -> i.get("sequence")).containsExactly(2);
    }

    @Test
    void ruleFilterFindsTheRuleAmongEventsWithoutOne() {
        UUID tenant = SERVER.admin().createTenant("Rule filter");
        UUID instance = instance(tenant);
        // Events 1-12 as Events.event makes them (blocked, no rule id), every fourth allowed by rule "r-db".
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (long seq = 1; seq <= 12; seq++) {
            ConnectionEvent.Builder e = event(seq, BASE.plus(seq, ChronoUnit.MINUTES));
            if (seq % 4 == 0) {
                e.setVerdict(Verdict.VERDICT_ALLOWED).setRuleId("r-db").setReason("allowlisted");
            }
            batch.addEvents(e);
        }
        INGEST.ingest(tenant, instance, batch.build());

        assertThat(items(SERVER.admin().get(events(tenant, "rule=r-db"))))
                .extracting(i -> i.get("sequence"), i -> i.get("ruleId"))
                .containsExactly(tuple(12, "r-db"), tuple(8, "r-db"), tuple(4, "r-db"));
        assertThat(items(SERVER.admin().get(events(tenant, "verdict=blocked&limit=1000")))).hasSize(9)
                .allSatisfy(i -> assertThat(i.get("ruleId")).isNull());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"instance, INSTANCE_A, instance_id", "port, 22, destination_port", "protocol, udp, ip_protocol",
        "rule, r-ssh, rule_id", "reason, geo, reason"})
    void exactValueFiltersUseTheValueIndexWithAGenericPlan(String name, String value, String column) throws SQLException {
        // The list plans every request with its values (everyRequestIsPlannedWithItsOwnValues), but the
        // conditions must not rely on it: the index serves "= $n" in a generic plan too.
        String given = value.equals("INSTANCE_A") ? FIXTURE.a.toString() : value;
        // On the fixture's few rows any index that holds tenant_id looks as good as another: the other two are
        // dropped for the plan, so that it shows whether this one can serve the filter (btree_gin's operators
        // take only their own type: a bind of another type would leave it unused).
        String plan = planForTheApp(filter(name, given), "connection_events_tenant_time, connection_events_tenant_peer");

        // V017's index on each partition is named after its (first) columns.
        assertThat(plan).contains("Bitmap Index Scan on").contains("_tenant_id_instance_id_destinati_idx").doesNotContain("Seq Scan");
        assertThat(indexConditions(plan)).singleElement().asString().contains("(tenant_id = $1)").contains("(" + column + " = $4)");
        assertThat(indexConditions(planForTheApp(filter("verdict", "blocked"), "connection_events_tenant_time, connection_events_tenant_peer")))
                .as("control: a filter the index does not hold").singleElement().asString().doesNotContain("$4");
    }

    @ParameterizedTest(name = "address={0}")
    @CsvSource({"198.51.100.9", "198.51.100.0/24", "2001:db8::/64"})
    void addressFilterUsesThePeerIndexWithAGenericPlan(String block) throws SQLException {
        // <<= is not leakproof, so under row-level security only the leakproof bounds (inet >= and <=) may
        // reach an index; a generic plan could not turn "<<= $n" into a range either.
        String plan = planForTheApp(filter("address", block), "connection_events_tenant_time, connection_events_values");

        assertThat(plan).contains("Index Scan").contains("_tenant_id_peer_address_idx").doesNotContain("Seq Scan");
        assertThat(indexConditions(plan)).singleElement().asString().contains("(tenant_id = $1)")
                .contains("(peer_address >= $4)").contains("(peer_address <= $5)");
    }

    @Test
    void everyRequestIsPlannedWithItsOwnValues() {
        // The driver prepares a statement on its fifth run and PostgreSQL may then choose one generic plan;
        // a frequent address's plan (the time index) reused for a rare block reads the whole range.
        TenantAccess access = SERVER.context().getBean(TenantAccess.class);
        EventQuery query = SERVER.context().getBean(EventQuery.class);
        // The pooled connection may hold statements of other tests: compare the counts before and after.
        String counts = "select name, generic_plans, custom_plans from pg_prepared_statements where statement like '%connection_events%'";
        List<List<Long>> plans = access.system(FIXTURE.tenant, Caller.system(), tx -> {
            Map<String, List<Long>> before = tx.sql().resultQuery(counts).fetchMap(
                    r -> r.get(0, String.class), r -> List.of(r.get(1, Long.class), r.get(2, Long.class)));
            for (int i = 0; i < 12; i++) {
                query.page(tx, filter("address", i % 2 == 0 ? "203.0.113.0/24" : "198.51.100.9"), null, 10);
                query.export(tx, filter("port", i % 2 == 0 ? "22" : "443"), item -> { });
            }
            List<List<Long>> added = new ArrayList<>();
            for (Record r : tx.sql().resultQuery(counts).fetch()) {
                List<Long> was = before.getOrDefault(r.get(0, String.class), List.of(0L, 0L));
                List<Long> delta = List.of(r.get(1, Long.class) - was.get(0), r.get(2, Long.class) - was.get(1));
                if (!delta.equals(List.of(0L, 0L))) {
                    added.add(delta);
                }
            }
            return added;
        });

        assertThat(plans).as("generic and custom plans added to the page's and the export's prepared statement").hasSize(2)
                .allSatisfy(added -> assertThat(added).satisfies(c -> assertThat(c.get(0)).isZero(),
                        c -> assertThat(c.get(1)).isGreaterThan(5)));
    }

    private static EventFilter filter(String name, String value) {
        return EventFilter.parse(FIXTURE.tenant, n -> n.equals(name) ? List.of(value) : List.of(), Instant.now(), null);
    }

    /**
     * The generic plan of the list's conditions as the application role plans them, under the tenant's
     * row-level security (whose quals let only leakproof operators into an index condition), with
     * {@code indexes} dropped for this transaction only.
     */
    private static String planForTheApp(EventFilter filter, String indexes) throws SQLException {
        // The simple query protocol, so that the driver sends the $n of explain (generic_plan) as they are.
        try (Connection c = DriverManager.getConnection(SERVER.ownerUrl() + "?preferQueryMode=simple", "postgres", "postgres");
                Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            try {
                s.execute("set local lock_timeout = '10s'");
                s.execute("set local enable_seqscan = off");
                s.execute("drop index " + indexes);
                s.execute("set local role clawfence_app");
                s.execute("select set_config('clawfence.tenant_id', '" + FIXTURE.tenant + "', true)");
                return plan(s, genericQuery(filter));
            } finally {
                c.rollback();
            }
        }
    }

    private static List<String> indexConditions(String plan) {
        return plan.lines().filter(line -> line.contains("Index Cond")).map(String::strip).distinct().toList();
    }

    /** The list's conditions as explain (generic_plan) takes them: $n parameters where jOOQ renders JDBC's ?. */
    private static String genericQuery(EventFilter filter) {
        DSLContext dsl = DSL.using(SQLDialect.POSTGRES);
        String rendered = dsl.render(dsl.select(EventQuery.SEQUENCE).from(EventQuery.EVENTS)
                .where(EventQuery.conditions(FIXTURE.tenant, filter)));
        StringBuilder query = new StringBuilder();
        int parameter = 0;
        for (char ch : rendered.toCharArray()) {
            // No literal in these conditions contains a question mark.
            query.append(ch == '?' ? "$" + ++parameter : String.valueOf(ch));
        }
        return query.toString();
    }

    private static String plan(Statement s, String query) throws SQLException {
        StringBuilder plan = new StringBuilder();
        try (ResultSet r = s.executeQuery("explain (generic_plan) " + query)) {
            while (r.next()) {
                plan.append(r.getString(1)).append('\n');
            }
        }
        return plan.toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "address=10.0.0.0/33 | address",
        "address=10.0.0.5/8 | address",
        "address=10.1 | address",
        "address=1.2.3.* | address",
        "from=2026-11-24T10:00:00Z&to=2026-11-24T09:00:00Z | from",
        "from=yesterday | from",
        "to=2026-11-24 | to",
        "limit=0 | limit",
        "limit=1001 | limit",
        "limit=ten | limit",
        "verdict=denied | verdict",
        "verdict=blocked,, | verdict",
        "direction=sideways | direction",
        "port=65536 | port",
        "protocol=sctp | protocol",
        "instance=host-1 | instance",
        "cursor=not-a-cursor | cursor",
        "cursor=AAAA | cursor",
        "rule= | rule",
    })
    void badParametersAreProblemsNamingTheParameter(String query, String parameter) {
        Api.Response r = FIXTURE.viewer.get(events(FIXTURE.tenant, query.replace("/", "%2F")));

        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.errorPaths()).contains(parameter);
    }

    @Test
    void everyBadParameterIsNamedAtOnce() {
        Api.Response r = FIXTURE.viewer.get(events(FIXTURE.tenant, "verdict=nope&port=-1&address=x"));

        assertThat(r.status()).isEqualTo(400);
        assertThat(r.errorPaths()).containsExactlyInAnyOrder("verdict", "port", "address");
        assertThat(r.text()).contains("\\\"nope\\\" is not a verdict (one of allowed, blocked, would-block)");
    }

    @Test
    void aCursorWorksOnlyWithTheFiltersAndTenantItWasIssuedFor() {
        Api.Response first = FIXTURE.viewer.get(events(FIXTURE.tenant, "verdict=allowed&limit=5"));
        String cursor = (String) first.map().get("nextCursor");
        assertThat(cursor).isNotNull();

        Api.Response same = FIXTURE.viewer.get(events(FIXTURE.tenant, "verdict=allowed&limit=5&cursor=" + cursor));
        Api.Response otherFilter = FIXTURE.viewer.get(events(FIXTURE.tenant, "verdict=blocked&limit=5&cursor=" + cursor));
        UUID other = SERVER.admin().createTenant("Cursor thief");
        Api.Response otherTenant = SERVER.admin().get(events(other, "verdict=allowed&limit=5&cursor=" + cursor));
        char[] chars = cursor.toCharArray();
        chars[10] = chars[10] == 'A' ? 'B' : 'A';
        Api.Response altered = FIXTURE.viewer.get(events(FIXTURE.tenant, "verdict=allowed&limit=5&cursor=" + new String(chars)));

        assertThat(same.status()).isEqualTo(200);
        assertThat(items(same)).hasSize(5);
        assertThat(otherFilter.status()).isEqualTo(400);
        assertThat(otherFilter.errorPaths()).containsExactly("cursor");
        assertThat(otherTenant.status()).isEqualTo(400);
        assertThat(otherTenant.errorPaths()).containsExactly("cursor");
        assertThat(altered.status()).isEqualTo(400);
    }

    @Test
    void anotherTenantsEventsAreNotFound() {
        UUID other = SERVER.admin().createTenant("Nosy");
        Api nosy = SERVER.admin().mintToken(other, "owner");

        Api.Response r = nosy.get(events(FIXTURE.tenant, ""));
        Api.Response own = nosy.get(events(other, ""));

        assertThat(r.status()).isEqualTo(404);
        assertThat(own.status()).isEqualTo(200);
        assertThat(items(own)).isEmpty();
        assertThat(own.map()).containsEntry("nextCursor", null);
    }

    @Test
    void csvExportStreamsTheWholeRangeWithHostileTextQuoted() throws Exception {
        UUID tenant = SERVER.admin().createTenant("Export");
        UUID instance = instance(tenant);
        String[] hostile = {"eth0,\"evil\"", "=cmd|' /C calc'!A0", "line\r\nbreak", "tab\tand ;semicolon", "ünïcødé"};
        int count = 2500;
        Instant start = Instant.now().minus(3, ChronoUnit.HOURS);
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (int seq = 1; seq <= count; seq++) {
            batch.addEvents(event(seq, start.plusMillis(seq * 10L)).setInterface(hostile[seq % hostile.length])
                    .setReason("reason \"" + seq + "\",\n" + hostile[(seq + 1) % hostile.length]));
        }
        INGEST.ingest(tenant, instance, batch.build());

        Api.Response csv = SERVER.admin().send("GET", events(tenant, "verdict=blocked"), null, Map.of("Accept", "text/csv"));
        Api.Response json = SERVER.admin().get(events(tenant, "verdict=blocked&limit=1000"));

        assertThat(csv.status()).as(csv.toString()).isEqualTo(200);
        assertThat(csv.contentType()).startsWith("text/csv");
        assertThat(csv.header("content-disposition")).matches("attachment; filename=\"events-\\d{8}T\\d{6}Z-\\d{8}T\\d{6}Z\\.csv\"");
        List<CSVRecord> rows = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get()
                .parse(new StringReader(csv.text())).getRecords();
        assertThat(csv.text()).startsWith(String.join(",", EventQuery.Item.COLUMNS) + "\r\n");
        assertThat(rows).hasSize(count);
        // The first 1000 rows are the first JSON page, field for field.
        List<Map<String, Object>> page = items(json);
        for (int i = 0; i < page.size(); i++) {
            Map<String, Object> item = page.get(i);
            CSVRecord row = rows.get(i);
            for (String column : EventQuery.Item.COLUMNS) {
                Object value = item.get(column);
                assertThat(row.get(column)).as("row %d %s", i, column).isEqualTo(value == null ? "" : value.toString());
            }
        }
        assertThat(rows.getLast().get("sequence")).isEqualTo("1");
        assertThat(rows.stream().map(r -> r.get("interface")).distinct()).containsExactlyInAnyOrder(hostile);
    }

    @Test
    void csvExportRefusesPagingParametersAndForeignTenants() {
        UUID other = SERVER.admin().createTenant("No export");
        Api nosy = SERVER.admin().mintToken(other, "viewer");

        Api.Response paged = FIXTURE.viewer.send("GET", events(FIXTURE.tenant, "limit=5"), null, Map.of("Accept", "text/csv"));
        Api.Response foreign = nosy.send("GET", events(FIXTURE.tenant, ""), null, Map.of("Accept", "text/csv"));

        assertThat(paged.status()).isEqualTo(400);
        assertThat(paged.errorPaths()).containsExactly("limit");
        assertThat(foreign.status()).isEqualTo(404);
    }

    static String events(UUID tenant, String query) {
        return "/api/v1/tenants/" + tenant + "/network/events" + (query.isEmpty() ? "" : "?" + query);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> items(Api.Response r) {
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return (List<Map<String, Object>>) r.map().get("items");
    }

    static String enc(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

}
