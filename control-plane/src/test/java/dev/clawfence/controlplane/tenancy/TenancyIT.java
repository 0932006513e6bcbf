package dev.clawfence.controlplane.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TenancyIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();

    @Test
    void adminCreatesTenantAndGetsItsId() {
        Api.Response created = admin.post("/api/v1/tenants", Map.of("name", "Acme"));

        assertThat(created.status()).isEqualTo(201);
        UUID id = UUID.fromString((String) created.map().get("id"));
        assertThat(created.map().get("createdAt")).asString().matches("\\d{4}-\\d{2}-\\d{2}T.*");
        assertThat(admin.get("/api/v1/tenants/" + id).map()).containsEntry("name", "Acme");
        assertThat(admin.get("/api/v1/tenants").list()).anySatisfy(t -> assertThat(t).containsEntry("id", id.toString()));
    }

    @Test
    void requestsWithoutOrWithBadTokenGet401Problem() {
        for (Api anonymous : List.of(admin.withToken(null), admin.withToken("cf_not-a-real-token"))) {
            Api.Response response = anonymous.get("/api/v1/tenants");

            assertThat(response.status()).isEqualTo(401);
            assertThat(response.contentType()).startsWith("application/problem+json");
            assertThat(response.map()).containsKeys("type", "title", "status", "detail", "errors");
        }
    }

    @Test
    void tenantTokenIsShownOnceAndWorksOnlyInItsTenant() {
        UUID mine = admin.createTenant("Mine");
        UUID other = admin.createTenant("Other");
        Api.Response minted = admin.post("/api/v1/tenants/" + mine + "/api-tokens", Map.of("name", "ci", "role", "admin"));

        assertThat(minted.status()).isEqualTo(201);
        String token = (String) minted.map().get("token");
        assertThat(token).startsWith("cf_").hasSizeGreaterThan(40);
        Api tenantApi = admin.withToken(token);
        assertThat(tenantApi.get("/api/v1/tenants/" + mine + "/users").status()).isEqualTo(200);
        assertThat(tenantApi.get("/api/v1/tenants/" + other + "/users").status()).isEqualTo(404);
        assertThat(tenantApi.get("/api/v1/tenants/" + other + "/audit").status()).isEqualTo(404);
        assertThat(tenantApi.post("/api/v1/tenants", Map.of("name", "x")).status()).isEqualTo(403);

        Api.Response listed = tenantApi.get("/api/v1/tenants/" + mine + "/api-tokens");
        assertThat(listed.text()).doesNotContain(token);
        assertThat(listed.list()).singleElement().satisfies(t -> assertThat(t.get("lastUsedAt")).isNotNull());
    }

    @Test
    void revokedTokenIsRefused() {
        UUID tenant = admin.createTenant("Revoke");
        Api.Response minted = admin.post("/api/v1/tenants/" + tenant + "/api-tokens", Map.of("name", "t", "role", "viewer"));
        Api holder = admin.withToken((String) minted.map().get("token"));
        assertThat(holder.get("/api/v1/tenants/" + tenant + "/users").status()).isEqualTo(200);

        assertThat(admin.delete("/api/v1/tenants/" + tenant + "/api-tokens/" + minted.map().get("id")).status()).isEqualTo(204);

        assertThat(holder.get("/api/v1/tenants/" + tenant + "/users").status()).isEqualTo(401);
    }

    @Test
    void viewerCanReadButNotWrite() {
        UUID tenant = admin.createTenant("Viewers");
        Api viewer = admin.mintToken(tenant, "viewer");

        assertThat(viewer.get("/api/v1/tenants/" + tenant + "/users").status()).isEqualTo(200);
        Api.Response write = viewer.post("/api/v1/tenants/" + tenant + "/users",
                Map.of("email", "v@example.com", "name", "V", "role", "viewer"));
        assertThat(write.status()).isEqualTo(403);
        assertThat(write.contentType()).startsWith("application/problem+json");
        assertThat(viewer.post("/api/v1/tenants/" + tenant + "/api-tokens", Map.of("name", "x", "role", "viewer")).status())
                .isEqualTo(403);
    }

    @Test
    void adminTokenCannotMintOwnerToken() {
        UUID tenant = admin.createTenant("Escalation");
        Api tenantAdmin = admin.mintToken(tenant, "admin");

        assertThat(tenantAdmin.post("/api/v1/tenants/" + tenant + "/api-tokens", Map.of("name", "x", "role", "owner")).status())
                .isEqualTo(403);
        assertThat(tenantAdmin.post("/api/v1/tenants/" + tenant + "/api-tokens", Map.of("name", "x", "role", "viewer")).status())
                .isEqualTo(201);
    }

    @Test
    void usersCrud() {
        UUID tenant = admin.createTenant("Users");
        Api owner = admin.mintToken(tenant, "owner");
        String base = "/api/v1/tenants/" + tenant + "/users";

        Api.Response created = owner.post(base, Map.of("email", "ann@example.com", "name", "Ann", "role", "admin"));
        assertThat(created.status()).isEqualTo(201);
        String id = (String) created.map().get("id");
        assertThat(owner.post(base, Map.of("email", "ann@example.com", "name", "Ann 2", "role", "admin")).status())
                .isEqualTo(409);
        Api.Response updated = owner.put(base + "/" + id, Map.of("role", "viewer"), Map.of());
        assertThat(updated.map()).containsEntry("role", "viewer").containsEntry("email", "ann@example.com");
        assertThat(owner.get(base).list()).hasSize(1);
        assertThat(owner.delete(base + "/" + id).status()).isEqualTo(204);
        assertThat(owner.get(base + "/" + id).status()).isEqualTo(404);
    }

    @Test
    void badInputGetsClear4xxProblems() {
        UUID tenant = admin.createTenant("Bad input");
        String users = "/api/v1/tenants/" + tenant + "/users";

        Api.Response malformed = admin.post(users, "{\"email\": ");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.errorPaths()).containsExactly("body");

        Api.Response missing = admin.post(users, Map.of("name", "No Email", "role", "boss"));
        assertThat(missing.status()).isEqualTo(422);
        assertThat(missing.contentType()).startsWith("application/problem+json");
        assertThat(missing.errorPaths()).containsExactlyInAnyOrder("email", "role");

        Api.Response misspelt = admin.post(users, Map.of("email", "a@example.com", "name", "A", "role", "viewer", "rol", "x"));
        assertThat(misspelt.status()).isEqualTo(422);
        assertThat(misspelt.errorPaths()).containsExactly("rol");

        Api.Response empty = admin.send("POST", users, null, Map.of("Content-Type", "application/json"));
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.errorPaths()).containsExactly("body");

        Api.Response wrongType = admin.send("POST", users, "email=a", Map.of("Content-Type", "text/plain"));
        assertThat(wrongType.status()).isEqualTo(415);
        assertThat(wrongType.contentType()).startsWith("application/problem+json");

        Api.Response notUuid = admin.get("/api/v1/tenants/not-a-uuid/users");
        assertThat(notUuid.status()).isEqualTo(400);
        assertThat(notUuid.errorPaths()).containsExactly("tenant");

        assertThat(admin.get("/api/v1/tenants/" + UUID.randomUUID() + "/users").status()).isEqualTo(404);
        Api.Response noRoute = admin.get("/api/v1/nothing-here");
        assertThat(noRoute.status()).isEqualTo(404);
        assertThat(noRoute.contentType()).startsWith("application/problem+json");
    }

    @Test
    void changesAreAudited() {
        UUID tenant = admin.createTenant("Audited");
        Api owner = admin.mintToken(tenant, "owner");
        owner.post("/api/v1/tenants/" + tenant + "/users", Map.of("email", "a@example.com", "name", "A", "role", "viewer"));

        List<Map<String, Object>> entries = (List<Map<String, Object>>) owner.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items");

        assertThat(entries).extracting(e -> e.get("action"))
                .containsExactly("user.create", "api-token.create", "tenant.create");
        assertThat(entries.getFirst()).containsEntry("remoteAddress", "127.0.0.1");
        assertThat((Map<String, Object>) entries.getFirst().get("actor")).containsEntry("name", "owner-token");
        assertThat((Map<String, Object>) entries.getLast().get("actor")).containsEntry("kind", "platform-admin");
    }

    @Test
    void auditIsPagedNewestFirst() {
        UUID tenant = admin.createTenant("Audit pages");
        for (int i = 0; i < 3; i++) {
            admin.post("/api/v1/tenants/" + tenant + "/users", Map.of("email", "p" + i + "@example.com", "name", "P", "role", "viewer"));
        }
        String audit = "/api/v1/tenants/" + tenant + "/audit";

        Map<String, Object> first = admin.get(audit + "?limit=3").map();
        Map<String, Object> second = admin.get(audit + "?limit=3&cursor=" + first.get("nextCursor")).map();

        assertThat((List<Map<String, Object>>) first.get("items")).extracting(e -> e.get("detail"))
                .containsExactly("email=p2@example.com role=viewer", "email=p1@example.com role=viewer",
                        "email=p0@example.com role=viewer");
        assertThat((List<Map<String, Object>>) second.get("items")).extracting(e -> e.get("action"))
                .containsExactly("tenant.create");
        assertThat(second.get("nextCursor")).isNull();
        assertThat(admin.get(audit + "?limit=0").status()).isEqualTo(400);
    }
}
