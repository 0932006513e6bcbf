package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.event;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.commons.csv.CSVFormat;
import org.junit.jupiter.api.Test;

/**
 * Per-tenant event retention (issue 4: "partitions created ahead and dropped after the retention
 * (default 30 days, per tenant configurable)"): the settings endpoint, ingest's expired count, the
 * read bound before maintenance, and maintenance deleting only the shorter tenant's rows.
 */
class EventRetentionIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    private final EventIngest ingest = server.context().getBean(EventIngest.class);
    private final EventMaintenance maintenance = server.context().getBean(EventMaintenance.class);

    @Test
    void settingsShowTheDefaultAndTakeAFigureAndNullBackAndAreAudited() {
        UUID tenant = admin.createTenant("Retention settings");
        String path = settings(tenant);
        Api owner = admin.mintToken(tenant, "owner");
        Api viewer = admin.mintToken(tenant, "viewer");
        LocalDate today = LocalDate.now(ZoneOffset.UTC);

        Api.Response initial = viewer.get(path);
        assertThat(initial.status()).as(initial.toString()).isEqualTo(200);
        assertThat(initial.text()).isEqualTo("{\"retentionDays\":30,\"default\":true,\"maxRetentionDays\":365,"
                + "\"oldestRetained\":\"" + today.minusDays(30) + "\"}");

        long runsBefore = maintenance.runs();
        Api.Response set = owner.put(path, Map.of("retentionDays", 7), Map.of());
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(set.map()).containsEntry("retentionDays", 7).containsEntry("default", false)
                .containsEntry("oldestRetained", today.minusDays(7).toString());
        assertThat(viewer.get(path).map()).containsEntry("retentionDays", 7).containsEntry("default", false);
        // The change asks for a maintenance run soon, so storage follows without waiting for the interval.
        await().atMost(Duration.ofSeconds(60)).until(() -> maintenance.runs() > runsBefore);

        Map<String, Object> backToDefault = new HashMap<>();
        backToDefault.put("retentionDays", null);
        Api.Response reset = owner.put(path, backToDefault, Map.of());
        assertThat(reset.status()).as(reset.toString()).isEqualTo(200);
        assertThat(viewer.get(path).map()).containsEntry("retentionDays", 30).containsEntry("default", true)
                .containsEntry("maxRetentionDays", 365);

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> audit = (List<Map<String, Object>>) owner.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items");
        assertThat(audit).filteredOn(e -> "events.retention.update".equals(e.get("action")))
                .extracting(e -> e.get("detail"))
                .containsExactly("retentionDays 7 -> default (30)", "retentionDays default (30) -> 7");
        assertThat(audit.getFirst()).containsEntry("target", "events:retention");
        @SuppressWarnings("unchecked")
        Map<String, Object> actor = (Map<String, Object>) audit.getFirst().get("actor");
        assertThat(actor).containsEntry("name", "owner-token");
    }

    @Test
    void badValuesAreRefusedNamingTheField() {
        UUID tenant = admin.createTenant("Retention refusals");
        String path = settings(tenant);
        Api owner = admin.mintToken(tenant, "owner");

        for (String body : List.of("{}", "{\"retentionDays\":\"7\"}", "{\"retentionDays\":7.5}", "{\"retentionDays\":0}",
                "{\"retentionDays\":366}", "{\"retentionDays\":-3}", "{\"retentionDays\":true}",
                "{\"retentionDays\":99999999999999999999}")) {
            Api.Response refused = owner.put(path, body, Map.of());
            assertThat(refused.status()).as(body + " -> " + refused).isEqualTo(422);
            assertThat(refused.errorPaths()).as(body).containsExactly("retentionDays");
            assertThat(refused.text()).as(body).contains("from 1 to 365");
        }
        Api.Response unknown = owner.put(path, "{\"retentionDays\":7,\"retentiondays\":8}", Map.of());
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(422);
        assertThat(unknown.errorPaths()).containsExactly("retentiondays");
        assertThat(unknown.text()).contains("is not a known field");
        Api.Response malformed = owner.put(path, "{\"retentionDays\":", Map.of());
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.errorPaths()).containsExactly("body");
        assertThat(owner.get(path).map()).as("nothing refused was stored").containsEntry("default", true);

        Api.Response byViewer = admin.mintToken(tenant, "viewer").put(path, Map.of("retentionDays", 7), Map.of());
        assertThat(byViewer.status()).isEqualTo(403);
        UUID other = admin.createTenant("Retention foreigner");
        Api foreign = admin.mintToken(other, "owner");
        assertThat(foreign.get(path).status()).isEqualTo(404);
        assertThat(foreign.put(path, Map.of("retentionDays", 7), Map.of()).status()).isEqualTo(404);
        assertThat(owner.get(path).map()).containsEntry("default", true);
    }

    @Test
    void aShorterRetentionHidesAtOnceExpiresAtIngestAndIsDeletedByMaintenanceAlone() throws Exception {
        // A run asked for by another test must not delete this test's old rows before it looks.
        await().atMost(Duration.ofSeconds(60)).until(() -> !maintenance.pending());
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        Instant tenDaysAgo = now.minus(Duration.ofDays(10));
        Instant thirtyFiveDaysAgo = now.minus(Duration.ofDays(35));
        Instant hourAgo = now.minus(Duration.ofHours(1));
        UUID week = admin.createTenant("Retention 7 days");
        UUID standard = admin.createTenant("Retention default");
        UUID longer = admin.createTenant("Retention 40 days");
        UUID weekHost = instance(week);
        UUID standardHost = instance(standard);
        UUID longerHost = instance(longer);
        // Stored while both tenants kept the default 30 days.
        for (UUID[] t : new UUID[][] {{week, weekHost}, {standard, standardHost}}) {
            assertThat(ingest.ingest(t[0], t[1], batch(1, tenDaysAgo, hourAgo)).stored()).isEqualTo(2);
        }
        setRetention(longer, 40);
        maintenance.maintain();
        assertThat(ingest.ingest(longer, longerHost, batch(1, thirtyFiveDaysAgo)).stored()).isEqualTo(1);
        ingest.writeRollups(true);

        setRetention(week, 7);

        // Reads follow at once, before any maintenance: the 10-day-old event is stored but never shown.
        assertThat(storedBefore(week, now.minus(Duration.ofDays(7)))).isEqualTo(1);
        String range = "from=" + now.minus(Duration.ofDays(29)) + "&to=" + now.plusSeconds(1);
        Api weekApi = admin.mintToken(week, "viewer");
        Api standardApi = admin.mintToken(standard, "viewer");
        assertThat(list(weekApi, week, range)).containsExactly(2L);
        assertThat(list(standardApi, standard, range)).containsExactly(2L, 1L);
        Api.Response csv = weekApi.send("GET", "/api/v1/tenants/" + week + "/network/events?" + range, null,
                Map.of("Accept", "text/csv"));
        assertThat(CSVFormat.RFC4180.parse(new StringReader(csv.text())).getRecords()).as(csv.text()).hasSize(2);
        assertThat(shown(weekApi, week, "events/summary?bucket=day&" + range)).isEqualTo(1);
        assertThat(shown(standardApi, standard, "events/summary?bucket=day&" + range)).isEqualTo(2);
        assertThat(topSourceAttempts(weekApi, week, range)).isEqualTo(1);
        assertThat(topSourceAttempts(standardApi, standard, range)).isEqualTo(2);

        // Ingest counts what is older than ITS tenant's retention as expired.
        assertThat(ingest.ingest(week, weekHost, batch(3, tenDaysAgo, hourAgo)))
                .isEqualTo(new IngestResult(4, 1, 0, 1, 0, 0));
        assertThat(ingest.ingest(standard, standardHost, batch(3, tenDaysAgo, hourAgo)))
                .isEqualTo(new IngestResult(4, 2, 0, 0, 0, 0));
        ingest.writeRollups(true);
        assertThat(ownerLong("select events_expired from event_ingest_marks where instance_id = ?", weekHost)).isEqualTo(1);
        assertThat(ownerLong("select events_expired from event_ingest_marks where instance_id = ?", standardHost)).isZero();
        // Kernel counters of an interval that ended before the tenant's retention are dropped like its events.
        KernelCounters counters = server.context().getBean(KernelCounters.class);
        TenantAccess access = server.context().getBean(TenantAccess.class);
        RuleCounters tenDaysOld = RuleCounters.newBuilder().setFromEpochMillis(tenDaysAgo.minusSeconds(10).toEpochMilli())
                .setToEpochMillis(tenDaysAgo.toEpochMilli()).setPolicyVersion(1)
                .addCounts(RuleCount.newBuilder().setDirection(Direction.DIRECTION_INBOUND).setVerdict(Verdict.VERDICT_BLOCKED)
                        .setReason("not-allowlisted").setAttempts(5))
                .build();
        long weekAttempts = access.system(week, Caller.agent(week, weekHost, null), tx -> counters.store(tx, weekHost, tenDaysOld));
        long standardAttempts = access.system(standard, Caller.agent(standard, standardHost, null),
                tx -> counters.store(tx, standardHost, tenDaysOld));
        assertThat(weekAttempts).isZero();
        assertThat(standardAttempts).isEqualTo(5);

        EventMaintenance.Run run = maintenance.maintain();

        assertThat(run.longestRetentionDays()).isEqualTo(40);
        assertThat(run.tenantEventsDeleted()).isGreaterThanOrEqualTo(1);
        Instant weekFrom = EventPartitions.retainedFrom(now, 7);
        assertThat(storedBefore(week, weekFrom)).as("the 7-day tenant's old event").isZero();
        assertThat(storedSince(week, weekFrom)).as("its recent ones").isEqualTo(2);
        assertThat(storedBefore(standard, weekFrom)).as("the default tenant's old events").isEqualTo(2);
        assertThat(storedSince(standard, weekFrom)).isEqualTo(2);
        assertThat(storedBefore(longer, now.minus(Duration.ofDays(30)))).as("kept for the 40-day tenant").isEqualTo(1);
        for (String[] table : List.of(new String[] {"event_counts_minute", "minute"},
                new String[] {"traffic_sources_hourly", "hour"})) {
            String old = "select count(*) from " + table[0] + " where tenant_id = ? and " + table[1] + " < ?";
            assertThat(ownerLong(old, week, weekFrom)).as(table[0] + " of the 7-day tenant").isZero();
            assertThat(ownerLong(old, standard, weekFrom)).as(table[0] + " of the default tenant").isPositive();
            assertThat(ownerLong(old.replace(" < ?", " >= ?"), week, weekFrom)).as(table[0] + " recent").isPositive();
        }
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        try (Connection owner = server.ownerConnection()) {
            assertThat(EventIngestIT.partitions(owner)).as("partitions follow the longest retention, 40 days")
                    .contains(EventPartitions.partitionName(today.minusDays(40)))
                    .doesNotContain(EventPartitions.partitionName(today.minusDays(41)));
        }

        // Back to the default: the longest is 30 days again, and the partitions beyond it go.
        setRetention(longer, null);
        EventMaintenance.Run after = maintenance.maintain();

        assertThat(after.longestRetentionDays()).isEqualTo(30);
        assertThat(after.partitions().dropped()).contains(EventPartitions.partitionName(today.minusDays(35)),
                EventPartitions.partitionName(today.minusDays(40)));
        assertThat(storedBefore(longer, now.minus(Duration.ofDays(30)))).isZero();
        assertThat(storedBefore(standard, weekFrom)).as("still within the default").isEqualTo(2);
        assertThat(storedSince(week, weekFrom)).isEqualTo(2);
    }

    private static String settings(UUID tenant) {
        return "/api/v1/tenants/" + tenant + "/network/events/settings";
    }

    /** Inbound blocked attempts with sequences from {@code first}, one per time, each from its own source. */
    private static EventBatch batch(long first, Instant... times) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (int i = 0; i < times.length; i++) {
            batch.addEvents(event(first + i, times[i]));
        }
        return batch.build();
    }

    /** Sets a figure (null: the default) in the table, without the API, so no maintenance run is asked for. */
    private void setRetention(UUID tenant, Integer days) throws SQLException {
        try (Connection c = server.ownerConnection()) {
            try (PreparedStatement s = c.prepareStatement("delete from event_retention where tenant_id = ?")) {
                s.setObject(1, tenant);
                s.executeUpdate();
            }
            if (days != null) {
                try (PreparedStatement s = c.prepareStatement("insert into event_retention (tenant_id, retention_days) values (?, ?)")) {
                    s.setObject(1, tenant);
                    s.setInt(2, days);
                    s.executeUpdate();
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Long> list(Api api, UUID tenant, String range) {
        Api.Response page = api.get("/api/v1/tenants/" + tenant + "/network/events?" + range);
        assertThat(page.status()).as(page.toString()).isEqualTo(200);
        return ((List<Map<String, Object>>) page.map().get("items")).stream()
                .map(e -> ((Number) e.get("sequence")).longValue()).toList();
    }

    private static long shown(Api api, UUID tenant, String query) {
        Api.Response summary = api.get("/api/v1/tenants/" + tenant + "/network/" + query);
        assertThat(summary.status()).as(summary.toString()).isEqualTo(200);
        return ((Number) summary.map().get("shown")).longValue();
    }

    @SuppressWarnings("unchecked")
    private static long topSourceAttempts(Api api, UUID tenant, String range) {
        Api.Response top = api.get("/api/v1/tenants/" + tenant + "/network/traffic/top-sources?" + range);
        assertThat(top.status()).as(top.toString()).isEqualTo(200);
        return ((List<Map<String, Object>>) top.map().get("items")).stream()
                .mapToLong(e -> ((Number) e.get("attempts")).longValue()).sum();
    }

    private long storedBefore(UUID tenant, Instant before) throws SQLException {
        return ownerLong("select count(*) from connection_events where tenant_id = ? and time < ?", tenant, before);
    }

    private long storedSince(UUID tenant, Instant since) throws SQLException {
        return ownerLong("select count(*) from connection_events where tenant_id = ? and time >= ?", tenant, since);
    }

    private long ownerLong(String sql, Object... binds) throws SQLException {
        try (Connection c = server.ownerConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < binds.length; i++) {
                s.setObject(i + 1, binds[i] instanceof Instant t ? t.atOffset(ZoneOffset.UTC) : binds[i]);
            }
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

}
