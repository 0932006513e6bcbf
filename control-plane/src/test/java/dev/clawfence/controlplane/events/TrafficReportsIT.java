package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.address;
import static dev.clawfence.controlplane.events.Events.event;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.controlplane.policy.PolicyVersion;
import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Provenance;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rollups and their endpoints: events go in through {@link EventIngest} (as the upload RPC sends
 * them), the answers come out of the real REST API.
 */
class TrafficReportsIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    private final EventIngest ingest = server.context().getBean(EventIngest.class);

    private UUID tenant;
    private String base;
    private UUID web1;
    private UUID web2;
    private String office;
    private String branch;
    private String anthropic;
    /** A few minutes ago, in the current or the previous hour: inside every default range. */
    private final Instant recent = Instant.now().minus(Duration.ofMinutes(3)).truncatedTo(ChronoUnit.MICROS);
    private final Instant tenDaysAgo = Instant.now().minus(Duration.ofDays(10)).truncatedTo(ChronoUnit.MICROS);

    @BeforeEach
    void traffic() throws SQLException {
        tenant = admin.createTenant("Traffic " + UUID.randomUUID());
        base = "/api/v1/tenants/" + tenant + "/network";
        Map<String, Object> policy = Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "enforce"),
                "inbound", Map.of(
                        "allowlist", List.of(
                                Map.of("cidr", "192.0.2.0/26", "description", "Office", "requestedBy", "it@example.com"),
                                Map.of("cidr", "198.51.100.0/28", "description", "Branch", "requestedBy", "it@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "geo", Map.of("mode", "block", "countries", List.of("KP"))),
                "outbound", Map.of(
                        "destinations", List.of(Map.of("cidr", "203.0.113.0/24", "description", "API", "requestedBy", "dev@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "defaultAction", "deny"),
                "tests", List.of());
        Api.Response saved = admin.put(base + "/policy", Map.of("message", "rollups", "policy", policy), Map.of("If-Match", "\"1\""));
        assertThat(saved.status()).as(saved.toString()).isEqualTo(200);
        Map<String, Object> doc = policyDocument();
        List<Map<String, Object>> allowlist = list(map(doc.get("inbound")).get("allowlist"));
        office = (String) allowlist.get(0).get("id");
        branch = (String) allowlist.get(1).get("id");
        anthropic = (String) list(map(doc.get("outbound")).get("destinations")).getFirst().get("id");
        web1 = instance(tenant);
        web2 = instance(tenant);

        // web-1: 100 blocked from one source, a 12-port probe, 3 refused by country, 20 allowlisted,
        // 4 outbound to an unknown destination, 5 to an allowed one, and a source also seen 10 days ago.
        EventBatch.Builder one = EventBatch.newBuilder();
        long seq = 0;
        for (int i = 0; i < 100; i++) {
            one.addEvents(inbound(++seq, "203.0.113.66", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted"));
        }
        for (int port = 1; port <= 12; port++) {
            one.addEvents(inbound(++seq, "203.0.113.77", port, Verdict.VERDICT_BLOCKED, "", "port-closed"));
        }
        for (int i = 0; i < 3; i++) {
            one.addEvents(inbound(++seq, "2001:db8::66", 443, Verdict.VERDICT_BLOCKED, "", "geo"));
        }
        for (int i = 0; i < 20; i++) {
            one.addEvents(inbound(++seq, "192.0.2.10", 443, Verdict.VERDICT_ALLOWED, office, "allowlisted"));
        }
        for (int i = 0; i < 4; i++) {
            one.addEvents(outbound(++seq, "198.51.100.200", 8443, Verdict.VERDICT_BLOCKED, "", "unknown-destination"));
        }
        for (int i = 0; i < 5; i++) {
            one.addEvents(outbound(++seq, "203.0.113.5", 443, Verdict.VERDICT_ALLOWED, anthropic, "destination-allowed"));
        }
        one.addEvents(inbound(++seq, "203.0.113.99", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted").setTimeEpochMicros(micros(tenDaysAgo)));
        one.addEvents(inbound(++seq, "203.0.113.99", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted"));
        ingest.ingest(tenant, web1, one.build());
        // web-2: 50 more from the same source, so flags and top lists add instances up.
        EventBatch.Builder two = EventBatch.newBuilder();
        for (int i = 1; i <= 50; i++) {
            two.addEvents(inbound(i, "203.0.113.66", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted"));
        }
        ingest.ingest(tenant, web2, two.build());
        ingest.writeRollups(true);
    }

    @Test
    void rollupsCountEachStoredEventOnceThoughBatchesAreRetried() throws SQLException {
        EventBatch retried = EventBatch.newBuilder()
                .addEvents(inbound(51, "203.0.113.66", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted"))
                .addEvents(inbound(52, "203.0.113.66", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted")).build();
        ingest.ingest(tenant, web2, retried);
        ingest.ingest(tenant, web2, retried);
        ingest.writeRollups(true);

        try (Connection c = tenantConnection(tenant); Statement s = c.createStatement()) {
            assertThat(one(s, "select sum(events) from event_counts_minute"))
                    .isEqualTo(one(s, "select count(*) from connection_events")).isEqualTo(198);
            assertThat(one(s, "select sum(allowed + blocked + would_block) from traffic_sources_hourly"))
                    .isEqualTo(one(s, "select count(*) from connection_events where direction = 'inbound'"));
            assertThat(one(s, "select sum(allowed + blocked + would_block) from traffic_destinations_hourly")).isEqualTo(9);
            assertThat(one(s, "select sum(attempts) from traffic_source_ports_daily"))
                    .isEqualTo(one(s, "select count(*) from connection_events where direction = 'inbound' and reason = 'port-closed'"))
                    .isEqualTo(12);
            assertThat(one(s, "select sum(hits) from rule_hits_daily")).isEqualTo(25);
        }
    }

    @Test
    void summaryCountsByDirectionAndVerdictPerBucket() {
        Api.Response r = admin.get(base + "/events/summary?bucket=minute&from=" + recent.minus(Duration.ofHours(1)));

        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        Map<String, Object> totals = list(r.map().get("totals")).stream().collect(Collectors.toMap(
                t -> t.get("direction") + " " + t.get("verdict"), t -> t.get("shown")));
        assertThat(totals).containsEntry("inbound blocked", 100 + 50 + 12 + 3 + 1).containsEntry("inbound allowed", 20)
                .containsEntry("outbound blocked", 4).containsEntry("outbound allowed", 5)
                .containsEntry("inbound would-block", 0);
        assertThat(r.map().get("shown")).isEqualTo(195);
        assertThat(r.map().get("attempts")).as("no agent sent counters").isNull();
        List<Map<String, Object>> series = list(r.map().get("series"));
        assertThat(series).allSatisfy(p -> assertThat((String) p.get("time")).endsWith(":00Z"));
        assertThat(series.stream().mapToInt(p -> (Integer) p.get("events")).sum()).isEqualTo(195);

        Api.Response oneInstance = admin.get(base + "/events/summary?bucket=day&from=" + recent.minus(Duration.ofDays(20))
                + "&instance=" + web2);
        assertThat(oneInstance.map().get("shown")).isEqualTo(50);
        assertThat(list(oneInstance.map().get("series"))).singleElement()
                .satisfies(p -> assertThat((String) p.get("time")).endsWith("T00:00:00Z"));
    }

    @Test
    void ruleHitsListEveryRuleOfThePolicyWithHitsAndStaleness() {
        Api.Response r = admin.get(base + "/rules/hits?staleDays=7");

        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        Map<String, Map<String, Object>> byId = list(r.map().get("items")).stream()
                .collect(Collectors.toMap(i -> (String) i.get("ruleId"), Function.identity()));
        assertThat(byId).containsOnlyKeys(office, branch, anthropic);
        assertThat(byId.get(office)).containsEntry("hits", 20).containsEntry("direction", "inbound")
                .containsEntry("target", "192.0.2.0/26").containsEntry("stale", false);
        assertThat(Instant.parse((String) byId.get(office).get("lastHitAt"))).isEqualTo(recent);
        assertThat(byId.get(anthropic)).containsEntry("hits", 5).containsEntry("direction", "outbound");
        assertThat(byId.get(branch)).as("never hit, but added just now: not stale yet")
                .containsEntry("hits", 0).containsEntry("stale", false);
        assertThat(byId.get(branch).get("lastHitAt")).isNull();
        assertThat(list(r.map().get("removedRules"))).isEmpty();
    }

    @Test
    void aRuleOlderThanTheWindowWithoutHitsIsStale() {
        TenantAccess access = server.context().getBean(TenantAccess.class);
        PolicyVersions versions = server.context().getBean(PolicyVersions.class);
        TrafficReports reports = server.context().getBean(TrafficReports.class);
        Instant old = Instant.now().minus(Duration.ofDays(40));

        TrafficReports.RuleHits hits = access.system(tenant, Caller.agent(tenant, web1, null), tx -> {
            PolicyVersion current = versions.current(tx);
            Inbound inbound = current.document().inbound();
            List<AllowlistEntry> aged = inbound.allowlist().stream()
                    .map(e -> e.withProvenance(new Provenance("it@example.com", old, old))).toList();
            PolicyVersion agedVersion = new PolicyVersion(current.version(), current.author(), current.authorId(),
                    current.message(), current.createdAt(), current.contentHash(),
                    current.document().withInbound(new Inbound(aged, inbound.ports(), inbound.geo())));
            return reports.ruleHits(tx, agedVersion, 7, Instant.now());
        });

        Map<String, Boolean> stale = hits.items().stream()
                .collect(Collectors.toMap(TrafficReports.RuleHit::ruleId, TrafficReports.RuleHit::stale));
        assertThat(stale).containsEntry(office, false).containsEntry(branch, true);
        // Three days on, with a one-day window, today's hit no longer keeps the rule fresh.
        TrafficReports.RuleHits later = access.system(tenant, Caller.agent(tenant, web1, null),
                tx -> reports.ruleHits(tx, versions.current(tx), 1, Instant.now().plus(Duration.ofDays(3))));
        assertThat(later.items()).filteredOn(h -> h.ruleId().equals(office)).singleElement()
                .satisfies(h -> assertThat(h.stale()).isTrue());
    }

    @Test
    void topSourcesAndDestinationsAddInstancesUp() {
        Api.Response sources = admin.get(base + "/traffic/top-sources?verdict=blocked&limit=2");
        assertThat(sources.status()).as(sources.toString()).isEqualTo(200);
        List<Map<String, Object>> items = list(sources.map().get("items"));
        assertThat(items).extracting(i -> i.get("address")).containsExactly("203.0.113.66", "203.0.113.77");
        assertThat(items.getFirst()).containsEntry("blocked", 150).containsEntry("attempts", 150).containsEntry("allowed", 0);
        assertThat(Instant.parse((String) items.getFirst().get("firstSeen"))).isEqualTo(recent);

        Api.Response allowed = admin.get(base + "/traffic/top-sources?verdict=allowed");
        assertThat(list(allowed.map().get("items"))).extracting(i -> i.get("address")).containsExactly("192.0.2.10");

        Api.Response destinations = admin.get(base + "/traffic/top-destinations");
        assertThat(list(destinations.map().get("items")))
                .extracting(i -> i.get("address") + ":" + i.get("port") + " " + i.get("allowed") + "/" + i.get("blocked")
                        + " unknown " + i.get("unknownDestination"))
                .containsExactly("203.0.113.5:443 5/0 unknown 0", "198.51.100.200:8443 0/4 unknown 4");
    }

    @Test
    void flaggedTrafficNamesEachKindWithASentence() {
        Api.Response r = admin.get(base + "/flagged");

        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        List<Map<String, Object>> flags = list(r.map().get("items"));
        Map<String, List<String>> byKind = flags.stream().collect(Collectors.groupingBy(f -> (String) f.get("kind"),
                Collectors.mapping(f -> (String) (f.get("source") != null ? f.get("source") : f.get("destination")), Collectors.toList())));
        assertThat(byKind).containsEntry("many-blocked", List.of("203.0.113.66"))
                .containsEntry("port-probe", List.of("203.0.113.77"))
                .containsEntry("blocked-country", List.of("2001:db8::66"))
                .containsEntry("unknown-destination", List.of("198.51.100.200"));
        assertThat(byKind.get("new-source")).contains("203.0.113.66", "203.0.113.77", "2001:db8::66", "192.0.2.10")
                .as("seen 10 days ago too").doesNotContain("203.0.113.99");
        Map<String, Object> probe = flags.stream().filter(f -> f.get("kind").equals("port-probe")).findFirst().orElseThrow();
        assertThat(probe).containsEntry("ports", 12).containsEntry("attempts", 12);
        assertThat((String) probe.get("message")).isEqualTo(
                "203.0.113.77 tried 12 different closed ports (12 refused attempts): it looks like a port scan.");
        Map<String, Object> many = flags.stream().filter(f -> f.get("kind").equals("many-blocked")).findFirst().orElseThrow();
        assertThat(many).containsEntry("attempts", 150);
        assertThat((String) many.get("message")).contains("150 blocked connection attempts");
        Map<String, Object> exfiltration = flags.stream().filter(f -> f.get("kind").equals("unknown-destination")).findFirst().orElseThrow();
        assertThat(exfiltration).containsEntry("ports", 8443).containsEntry("attempts", 4);
        assertThat((String) exfiltration.get("message")).contains("198.51.100.200 port 8443").contains("exfiltration");

        // A range that ends before this traffic flags none of it.
        Api.Response before = admin.get(base + "/flagged?from=" + recent.minus(Duration.ofDays(3)) + "&to=" + recent.minus(Duration.ofDays(2)));
        assertThat(list(before.map().get("items"))).isEmpty();
    }

    @Test
    void anotherTenantSeesNoneOfIt() {
        UUID other = admin.createTenant("Traffic bystander");
        Api otherAdmin = admin.mintToken(other, "owner");
        String otherBase = "/api/v1/tenants/" + other + "/network";

        assertThat(otherAdmin.get(otherBase + "/events/summary").map().get("shown")).isEqualTo(0);
        assertThat(list(otherAdmin.get(otherBase + "/traffic/top-sources").map().get("items"))).isEmpty();
        assertThat(list(otherAdmin.get(otherBase + "/traffic/top-destinations").map().get("items"))).isEmpty();
        assertThat(list(otherAdmin.get(otherBase + "/flagged").map().get("items"))).isEmpty();
        assertThat(list(otherAdmin.get(otherBase + "/rules/hits").map().get("removedRules"))).isEmpty();
        for (String path : List.of("/events/summary", "/rules/hits", "/traffic/top-sources", "/traffic/top-destinations", "/flagged")) {
            assertThat(otherAdmin.get(base + path).status()).as(path).isEqualTo(404);
        }
        // The viewer of the owning tenant reads them.
        assertThat(admin.mintToken(tenant, "viewer").get(base + "/events/summary").map().get("shown")).isEqualTo(195);
    }

    @Test
    void badParametersAreProblemsNamingThem() {
        Map<String, String> cases = Map.of(
                "/events/summary?bucket=week", "bucket",
                "/events/summary?bucket=minute&from=" + recent.minus(Duration.ofDays(20)), "bucket",
                "/events/summary?from=yesterday", "from",
                "/events/summary?instance=web-1", "instance",
                "/traffic/top-sources?verdict=denied", "verdict",
                "/traffic/top-destinations?limit=0", "limit",
                "/rules/hits?staleDays=400", "staleDays",
                "/flagged?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from",
                "/flagged?to=soon", "to");
        cases.forEach((path, field) -> {
            Api.Response r = admin.get(base + path);
            assertThat(r.status()).as(path + " " + r).isEqualTo(400);
            assertThat(r.contentType()).as(path).startsWith("application/problem+json");
            assertThat(r.errorPaths()).as(path).containsExactly(field);
        });
        assertThat(admin.get(base + "/rules/hits?staleDays=400").map().get("detail").toString())
                .contains("hits are kept for the event retention, 30 days");
    }

    @Test
    void retentionDeletesOldRollupRowsAndOnlyTheOwnerMayDelete() throws SQLException {
        try (Connection c = tenantConnection(tenant); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("delete from traffic_sources_hourly"))
                    .hasMessageContaining("permission denied");
        }
        try (Connection owner = server.ownerConnection()) {
            owner.setAutoCommit(false);
            try {
                String mine = " where tenant_id = '" + tenant + "'";
                try (Statement s = owner.createStatement()) {
                    assertThat(one(s, "select count(*) from traffic_sources_hourly" + mine + " and address = '203.0.113.99'")).isEqualTo(2);
                }
                long deleted = EventRollups.expire(owner, Instant.now().minus(Duration.ofDays(7)));
                assertThat(deleted).as("this tenant's minute, hour and day rows of 10 days ago").isGreaterThanOrEqualTo(3);
                try (Statement s = owner.createStatement()) {
                    assertThat(one(s, "select count(*) from traffic_sources_hourly" + mine + " and address = '203.0.113.99'")).isEqualTo(1);
                    assertThat(one(s, "select sum(events) from event_counts_minute" + mine)).isEqualTo(195);
                    assertThat(one(s, "select sum(hits) from rule_hits_daily" + mine)).isEqualTo(25);
                }
            } finally {
                // Other test classes share this database: leave their old rows alone.
                owner.rollback();
            }
        }
    }

    @Test
    void compactionMergesTheRowsOfEachKeyAndChangesNoReport() throws SQLException {
        // More batches on the same keys: each write of the rollups appends one row per key (V013).
        EventBatch.Builder again = EventBatch.newBuilder();
        for (int i = 51; i <= 60; i++) {
            again.addEvents(inbound(i, "203.0.113.66", 443, Verdict.VERDICT_BLOCKED, "", "not-allowlisted"));
        }
        again.addEvents(inbound(61, "203.0.113.77", 5, Verdict.VERDICT_BLOCKED, "", "port-closed"));
        again.addEvents(inbound(62, "192.0.2.10", 443, Verdict.VERDICT_ALLOWED, office, "allowlisted"));
        again.addEvents(outbound(63, "198.51.100.200", 8443, Verdict.VERDICT_BLOCKED, "", "unknown-destination"));
        // Each batch's rollups written on their own, as when they are more than the rollup interval apart.
        ingest.ingest(tenant, web2, again.build());
        ingest.writeRollups(true);
        ingest.ingest(tenant, web2, EventBatch.newBuilder()
                .addEvents(inbound(64, "203.0.113.66", 443, Verdict.VERDICT_WOULD_BLOCK, "", "not-allowlisted")).build());
        ingest.writeRollups(true);
        String range = "from=" + recent.minus(Duration.ofDays(20)) + "&to=" + recent.plus(Duration.ofHours(1));
        List<String> reports = List.of(
                "/events/summary?bucket=minute&from=" + recent.minus(Duration.ofHours(1)) + "&to=" + recent.plus(Duration.ofHours(1)),
                "/events/summary?bucket=day&" + range,
                "/events/summary?bucket=hour&instance=" + web2 + "&from=" + recent.minus(Duration.ofDays(1)) + "&to=" + recent.plus(Duration.ofHours(1)),
                "/rules/hits?staleDays=7",
                "/traffic/top-sources?" + range,
                "/traffic/top-sources?verdict=blocked&" + range,
                "/traffic/top-sources?verdict=would-block&" + range,
                "/traffic/top-destinations?" + range,
                "/flagged?" + range);
        Map<String, Object> before = reports.stream().collect(Collectors.toMap(Function.identity(), path -> admin.get(base + path).map()));
        String[][] tables = {
            {"event_counts_minute", "instance_id, minute, direction, verdict"},
            {"rule_hits_daily", "instance_id, day, rule_id"},
            {"traffic_sources_hourly", "instance_id, hour, address"},
            {"traffic_destinations_hourly", "instance_id, hour, address, port"},
            {"traffic_source_ports_daily", "instance_id, day, address, port"}};
        try (Connection owner = server.ownerConnection(); Statement s = owner.createStatement()) {
            String mine = " where tenant_id = '" + tenant + "'";
            // web-1 one write, web-2 three: four rows, unless the scheduled compaction came first (then two).
            assertThat(one(s, "select count(*) from traffic_sources_hourly" + mine + " and address = '203.0.113.66'"))
                    .isIn(2L, 4L);

            RollupCompaction compaction = server.context().getBean(RollupCompaction.class);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> !compaction.compact().skipped());

            for (String[] table : tables) {
                assertThat(one(s, "select count(*) from " + table[0] + mine)).as(table[0] + " after compaction")
                        .isEqualTo(one(s, "select count(distinct (" + table[1] + ")) from " + table[0] + mine));
            }
            assertThat(one(s, "select count(*) from traffic_sources_hourly" + mine + " and address = '203.0.113.66'"))
                    .as("one row per instance").isEqualTo(2);
            assertThat(one(s, "select sum(blocked) from traffic_sources_hourly" + mine + " and address = '203.0.113.66'"))
                    .isEqualTo(160);
        }
        for (String path : reports) {
            assertThat(admin.get(base + path).map()).as(path).isEqualTo(before.get(path));
        }
        assertThat(((Map<?, ?>) before.get(reports.get(1))).get("shown")).isEqualTo(196 + 14);
    }

    private ConnectionEvent.Builder inbound(long seq, String source, int port, Verdict verdict, String rule, String reason) {
        return event(seq, recent).setSourceAddress(address(source)).setDestinationAddress(address(source.contains(":") ? "2001:db8:1::10" : "192.0.2.200"))
                .setDestinationPort(port).setVerdict(verdict).setRuleId(rule).setReason(reason);
    }

    private ConnectionEvent.Builder outbound(long seq, String destination, int port, Verdict verdict, String rule, String reason) {
        return event(seq, recent).setDirection(Direction.DIRECTION_OUTBOUND).setSourceAddress(address("192.0.2.200"))
                .setSourcePort(50000).setDestinationAddress(address(destination)).setDestinationPort(port)
                .setVerdict(verdict).setRuleId(rule).setReason(reason);
    }

    private Map<String, Object> policyDocument() {
        return map(admin.get(base + "/policy").map().get("policy"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    private static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }

    private static long one(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Connection tenantConnection(UUID id) throws SQLException {
        Connection c = server.appConnection();
        try (PreparedStatement s = c.prepareStatement("select set_config('clawfence.tenant_id', ?, false)")) {
            s.setString(1, id.toString());
            s.execute();
        }
        return c;
    }

}
