package dev.clawfence.controlplane.enrollment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EnrollmentTokenIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();

    private static String path(UUID tenant) {
        return "/api/v1/tenants/" + tenant + "/enrollment-tokens";
    }

    @Test
    void ownerCreatesListsAndRevokesTokens() {
        UUID tenant = admin.createTenant("Enrol");
        Api owner = admin.mintToken(tenant, "owner");

        Api.Response created = owner.post(path(tenant), Map.of("description", "web hosts", "expiresInSeconds", 3600,
                "maxUses", 5));

        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.map()).containsKeys("id", "token", "expiresAt").containsEntry("maxUses", 5)
                .containsEntry("uses", 0);
        String text = (String) created.map().get("token");
        EnrollmentToken token = EnrollmentToken.parse(text);
        assertThat(text).startsWith("cfe1.");
        assertThat(token.pin()).isEqualTo(server.context().getBean(CertificateAuthority.class).pin());

        Api.Response listed = owner.get(path(tenant));
        assertThat(listed.status()).isEqualTo(200);
        assertThat(listed.list()).hasSize(1);
        assertThat(listed.list().getFirst()).doesNotContainKey("token")
                .containsEntry("id", created.map().get("id"))
                .containsEntry("description", "web hosts")
                .containsEntry("uses", 0)
                .containsEntry("revokedAt", null)
                .containsEntry("createdBy", "token:owner-token");
        assertThat(listed.text()).doesNotContain(token.secret());

        assertThat(owner.delete(path(tenant) + "/" + created.map().get("id")).status()).isEqualTo(204);
        assertThat(owner.get(path(tenant)).list().getFirst().get("revokedAt")).isNotNull();
        List<String> actions = ((List<Map<String, Object>>) owner.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items")).stream().map(e -> (String) e.get("action")).toList();
        assertThat(actions).contains("enrollment-token.create", "enrollment-token.revoke");
    }

    @Test
    void defaultsApplyToAnEmptyBody() {
        UUID tenant = admin.createTenant("Defaults");

        Api.Response created = admin.post(path(tenant), Map.of());

        assertThat(created.status()).isEqualTo(201);
        assertThat(created.map()).containsEntry("maxUses", 1);
    }

    @Test
    void badFieldsAreNamed() {
        UUID tenant = admin.createTenant("Bad");

        Api.Response bad = admin.post(path(tenant), Map.of("expiresInSeconds", 5, "maxUses", 5000, "colour", "red"));

        assertThat(bad.status()).isEqualTo(422);
        assertThat(bad.contentType()).startsWith("application/problem+json");
        assertThat(bad.errorPaths()).containsExactlyInAnyOrder("expiresInSeconds", "maxUses", "colour");
    }

    @Test
    void viewersCannotCreateOrRevokeAndOtherTenantsSeeNothing() {
        UUID tenant = admin.createTenant("Mine");
        UUID other = admin.createTenant("Theirs");
        Api viewer = admin.mintToken(tenant, "viewer");
        Api stranger = admin.mintToken(other, "owner");
        String id = (String) admin.post(path(tenant), Map.of()).map().get("id");

        assertThat(viewer.post(path(tenant), Map.of()).status()).isEqualTo(403);
        assertThat(viewer.delete(path(tenant) + "/" + id).status()).isEqualTo(403);
        assertThat(viewer.get(path(tenant)).status()).isEqualTo(200);
        assertThat(stranger.get(path(tenant)).status()).isEqualTo(404);
        assertThat(stranger.post(path(tenant), Map.of()).status()).isEqualTo(404);
        assertThat(stranger.delete(path(tenant) + "/" + id).status()).isEqualTo(404);
        assertThat(admin.delete(path(other) + "/" + id).status()).isEqualTo(404);
    }
}
