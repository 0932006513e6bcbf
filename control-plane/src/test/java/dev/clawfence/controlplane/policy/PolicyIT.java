package dev.clawfence.controlplane.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class PolicyIT {

    private final Api admin = TestServer.get().admin();

    /** An enforcing inbound policy allowing {@code cidr} on tcp/443, with the given tests. */
    static Map<String, Object> enforcing(String cidr, List<Map<String, Object>> tests) {
        return Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "off"),
                "inbound", Map.of(
                        "allowlist", List.of(Map.of("cidr", cidr, "description", "office", "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of(
                        "destinations", List.of(),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "defaultAction", "allow"),
                "tests", tests);
    }

    static Map<String, Object> inboundTest(String from, String expect) {
        return Map.of("direction", "inbound", "from", from, "port", 443, "proto", "tcp", "expect", expect);
    }

    private static String policyPath(UUID tenant) {
        return "/api/v1/tenants/" + tenant + "/network/policy";
    }

    private Api.Response put(Api api, UUID tenant, String ifMatch, Object policy, String message) {
        return api.put(policyPath(tenant), Map.of("message", message, "policy", policy),
                ifMatch == null ? Map.of() : Map.of("If-Match", ifMatch));
    }

    @Test
    void newTenantStartsAtVersionOneWithTheDefaultPolicy() {
        UUID tenant = admin.createTenant("Fresh");

        Api.Response current = admin.get(policyPath(tenant));

        assertThat(current.status()).isEqualTo(200);
        assertThat(current.header("ETag")).isEqualTo("\"1\"");
        assertThat(current.map()).containsEntry("version", 1).containsEntry("author", "system")
                .containsKeys("message", "createdAt", "contentHash", "policy", "warnings");
        assertThat((Map<String, Object>) current.map().get("policy")).containsKeys("mode", "inbound", "outbound", "tests");
        assertThat((String) current.map().get("contentHash")).startsWith("sha256:");
    }

    @Test
    void saveNeedsIfMatchAndRefusesLostUpdates() {
        UUID tenant = admin.createTenant("Versions");
        Api owner = admin.mintToken(tenant, "owner");
        Map<String, Object> policy = enforcing("203.0.113.0/24", List.of(inboundTest("203.0.113.7", "allowed")));

        Api.Response missing = put(owner, tenant, null, policy, "no if-match");
        assertThat(missing.status()).isEqualTo(428);
        assertThat(missing.contentType()).startsWith("application/problem+json");

        Api.Response saved = put(owner, tenant, "\"1\"", policy, "Allow the office");
        assertThat(saved.status()).as(saved.text()).isEqualTo(200);
        assertThat(saved.header("ETag")).isEqualTo("\"2\"");
        assertThat(saved.map()).containsEntry("version", 2).containsEntry("author", "token:owner-token")
                .containsEntry("message", "Allow the office");
        Map<String, Object> entry = allowlist(saved).getFirst();
        String id = (String) entry.get("id");
        assertThat(id).isNotBlank();
        assertThat(entry).containsEntry("createdBy", "token:owner-token").containsKeys("createdAt", "updatedAt");

        Api.Response stale = put(owner, tenant, "\"1\"", policy, "stale");
        assertThat(stale.status()).isEqualTo(412);
        assertThat(stale.contentType()).startsWith("application/problem+json");

        Map<String, Object> edited = (Map<String, Object>) saved.map().get("policy");
        Api.Response again = put(owner, tenant, "\"2\"", edited, "Same rules again");
        assertThat(again.status()).isEqualTo(200);
        assertThat(allowlist(again).getFirst()).containsEntry("id", id);
    }

    @Test
    void concurrentSavesOnTheSameVersionGiveOneSuccessAndOne412() throws Exception {
        UUID tenant = admin.createTenant("Race");
        admin.get(policyPath(tenant));
        Map<String, Object> policy = enforcing("198.51.100.0/24", List.of());
        for (int round = 0; round < 5; round++) {
            String ifMatch = "\"" + (round + 1) + "\"";
            CountDownLatch start = new CountDownLatch(1);
            List<CompletableFuture<Integer>> saves = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int writer = i;
                saves.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return put(admin, tenant, ifMatch, policy, "writer " + writer).status();
                }));
            }
            start.countDown();
            List<Integer> statuses = saves.stream().map(CompletableFuture::join).sorted().toList();

            assertThat(statuses).containsExactly(200, 412);
        }
        assertThat(admin.get(policyPath(tenant)).map()).containsEntry("version", 6);
    }

    @Test
    void invalidPolicyIs422WithFieldPathsAndStoresNothing() {
        UUID tenant = admin.createTenant("Invalid");
        Map<String, Object> policy = enforcing("10.0.0.0/33", List.of());

        Api.Response refused = put(admin, tenant, "\"1\"", policy, "bad cidr");

        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.errorPaths()).contains("policy.inbound.allowlist[0].cidr");
        assertThat(admin.get(policyPath(tenant)).map()).containsEntry("version", 1);
        assertThat((List<?>) admin.get(policyPath(tenant) + "/versions").map().get("items")).hasSize(1);
    }

    @Test
    void failingPolicyTestIs422NamingTheTest() {
        UUID tenant = admin.createTenant("Failing test");
        Map<String, Object> policy = enforcing("203.0.113.0/24", List.of(
                inboundTest("203.0.113.9", "allowed"), inboundTest("198.51.100.1", "allowed")));

        Api.Response refused = put(admin, tenant, "\"1\"", policy, "wrong expectation");

        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.errorPaths()).containsExactly("policy.tests[1]");
        assertThat(admin.get(policyPath(tenant)).map()).containsEntry("version", 1);
    }

    @Test
    void badBodiesAreProblems() {
        UUID tenant = admin.createTenant("Bad bodies");

        assertThat(admin.put(policyPath(tenant), "{not json", Map.of("If-Match", "\"1\"")).status()).isEqualTo(400);
        Api.Response noPolicy = admin.put(policyPath(tenant), Map.of("message", "m"), Map.of("If-Match", "\"1\""));
        assertThat(noPolicy.status()).isEqualTo(422);
        assertThat(noPolicy.errorPaths()).containsExactly("policy");
        Api.Response badIfMatch = put(admin, tenant, "\"abc\"", Map.of(), "m");
        assertThat(badIfMatch.status()).isEqualTo(400);
        assertThat(badIfMatch.errorPaths()).containsExactly("If-Match");
        assertThat(admin.get(policyPath(tenant) + "/versions/abc").status()).isEqualTo(400);
        assertThat(admin.get(policyPath(tenant) + "/versions/99").status()).isEqualTo(404);
    }

    @Test
    void versionsArePagedNewestFirstAndRestoreMakesANewVersion() {
        UUID tenant = admin.createTenant("History");
        put(admin, tenant, "\"1\"", enforcing("203.0.113.0/24", List.of()), "second");
        put(admin, tenant, "\"2\"", enforcing("198.51.100.0/24", List.of()), "third");

        Api.Response first = admin.get(policyPath(tenant) + "/versions?limit=2");
        assertThat((List<Map<String, Object>>) first.map().get("items")).extracting(v -> v.get("version")).containsExactly(3, 2);
        Api.Response second = admin.get(policyPath(tenant) + "/versions?limit=2&cursor=" + first.map().get("nextCursor"));
        assertThat((List<Map<String, Object>>) second.map().get("items")).extracting(v -> v.get("version")).containsExactly(1);
        assertThat(second.map().get("nextCursor")).isNull();

        Api.Response two = admin.get(policyPath(tenant) + "/versions/2");
        assertThat(two.map()).containsEntry("message", "second");

        Api.Response stale = admin.send("POST", policyPath(tenant) + "/versions/2/restore", null, Map.of("If-Match", "\"2\""));
        assertThat(stale.status()).isEqualTo(412);
        Api.Response restored = admin.post(policyPath(tenant) + "/versions/2/restore", null);
        assertThat(restored.status()).as(restored.text()).isEqualTo(200);
        assertThat(restored.map()).containsEntry("version", 4).containsEntry("message", "Restore version 2");
        assertThat(allowlist(restored).getFirst()).containsEntry("cidr", "203.0.113.0/24");
        assertThat(admin.get(policyPath(tenant)).header("ETag")).isEqualTo("\"4\"");
    }

    @Test
    void simulateUsesTheCurrentVersion() {
        UUID tenant = admin.createTenant("Simulate");
        Api viewer = admin.mintToken(tenant, "viewer");
        String simulate = "/api/v1/tenants/" + tenant + "/network/simulate";
        Map<String, Object> outsider = Map.of("direction", "inbound", "from", "198.51.100.20", "to", "192.0.2.1",
                "port", 443, "proto", "tcp");

        assertThat(viewer.post(simulate, outsider).map()).containsEntry("verdict", "allowed").containsEntry("policyVersion", 1);

        Api.Response saved = put(admin, tenant, "\"1\"", enforcing("203.0.113.0/24", List.of()), "enforce");
        String ruleId = (String) allowlist(saved).getFirst().get("id");
        assertThat(viewer.post(simulate, outsider).map())
                .containsEntry("verdict", "blocked").containsEntry("reason", "not-allowlisted").containsEntry("policyVersion", 2)
                .containsKey("explanation");
        assertThat(viewer.post(simulate, Map.of("direction", "inbound", "from", "203.0.113.5", "port", 443, "proto", "tcp")).map())
                .containsEntry("verdict", "allowed").containsEntry("ruleId", ruleId);

        Api.Response bad = viewer.post(simulate, Map.of("direction", "sideways", "from", "300.1.1.1", "port", 443, "proto", "tcp"));
        assertThat(bad.status()).isEqualTo(422);
        assertThat(bad.errorPaths()).contains("direction");
    }

    @Test
    void viewerCannotSaveAndOtherTenantsCannotSee() {
        UUID tenant = admin.createTenant("Guarded");
        UUID other = admin.createTenant("Elsewhere");
        Api viewer = admin.mintToken(tenant, "viewer");
        Api stranger = admin.mintToken(other, "owner");

        assertThat(put(viewer, tenant, "\"1\"", enforcing("203.0.113.0/24", List.of()), "x").status()).isEqualTo(403);
        assertThat(stranger.get(policyPath(tenant)).status()).isEqualTo(404);
        assertThat(put(stranger, tenant, "\"1\"", enforcing("203.0.113.0/24", List.of()), "x").status()).isEqualTo(404);
        assertThat(stranger.post("/api/v1/tenants/" + tenant + "/network/simulate",
                Map.of("direction", "inbound", "from", "203.0.113.5", "port", 443, "proto", "tcp")).status()).isEqualTo(404);
    }

    @Test
    void savesAndRestoresAreAudited() {
        UUID tenant = admin.createTenant("Audit policy");
        put(admin, tenant, "\"1\"", enforcing("203.0.113.0/24", List.of()), "enforce it");
        admin.post(policyPath(tenant) + "/versions/1/restore", null);

        List<Map<String, Object>> entries = (List<Map<String, Object>>) admin.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items");

        assertThat(entries).extracting(e -> e.get("action")).startsWith("policy.restore", "policy.update");
        assertThat(entries.get(1)).containsEntry("target", "policy:v2").containsEntry("detail", "enforce it");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> allowlist(Api.Response response) {
        Map<String, Object> policy = (Map<String, Object>) response.map().get("policy");
        return (List<Map<String, Object>>) ((Map<String, Object>) policy.get("inbound")).get("allowlist");
    }
}
