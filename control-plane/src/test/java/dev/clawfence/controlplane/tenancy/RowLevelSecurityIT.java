package dev.clawfence.controlplane.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** Row-level security is the second wall: these tests check it on its own, below the service. */
class RowLevelSecurityIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();

    @Test
    void everyTenantOwnedTableHasEnabledAndForcedRowLevelSecurity() throws Exception {
        List<String> tenantOwned = new ArrayList<>();
        List<String> unprotected = new ArrayList<>();
        try (Connection c = server.ownerConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("""
                        select c.relname, c.relrowsecurity, c.relforcerowsecurity
                          from pg_class c join pg_namespace n on n.oid = c.relnamespace
                         where n.nspname = 'public' and c.relkind in ('r', 'p')
                           and (c.relname = 'tenants' or exists (
                                select 1 from pg_attribute a
                                 where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
                        """)) {
            while (rs.next()) {
                tenantOwned.add(rs.getString(1));
                if (!rs.getBoolean(2) || !rs.getBoolean(3)) {
                    unprotected.add(rs.getString(1));
                }
            }
        }

        assertThat(tenantOwned).contains("tenants", "users", "api_tokens", "policy_versions", "audit_log",
                "enrollment_tokens", "instances");
        assertThat(unprotected).as("tenant-owned tables without ENABLE and FORCE row level security").isEmpty();
    }

    @Test
    void everyTenantPolicyReadsTheTenantOncePerStatement() throws Exception {
        // V015: the tenant setting in a sub-select is an init plan, evaluated once per statement; the bare
        // expression was evaluated per row. Day partitions created later (EventPartitions) must match.
        List<String> perRow = new ArrayList<>();
        int policies = 0;
        try (Connection c = server.ownerConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("""
                        select tablename, qual, with_check from pg_policies
                         where schemaname = 'public' and policyname = 'tenant_isolation'""")) {
            while (rs.next()) {
                policies++;
                String onceEach = "= ( SELECT (NULLIF(current_setting('clawfence.tenant_id'::text, true), ''::text))::uuid AS \"nullif\")";
                if (!rs.getString(2).contains(onceEach) || !rs.getString(3).contains(onceEach)) {
                    perRow.add(rs.getString(1) + ": " + rs.getString(2));
                }
            }
        }
        assertThat(policies).isGreaterThan(20);
        assertThat(perRow).as("tenant policies evaluating the setting per row").isEmpty();
    }

    @Test
    void appRoleIsNeitherSuperuserNorOwner() throws Exception {
        try (Connection c = server.ownerConnection(); Statement s = c.createStatement()) {
            ResultSet role = s.executeQuery(
                    "select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = 'clawfence_app'");
            assertThat(role.next()).isTrue();
            assertThat(role.getBoolean(1)).isFalse();
            assertThat(role.getBoolean(2)).isFalse();
            assertThat(role.getBoolean(3)).isTrue();
            ResultSet owned = s.executeQuery(
                    "select count(*) from pg_tables where tableowner = 'clawfence_app'");
            owned.next();
            assertThat(owned.getInt(1)).isZero();
        }
    }

    @Test
    void appRoleWithoutTenantContextSeesNothing() throws Exception {
        UUID tenant = admin.createTenant("Invisible");
        admin.post("/api/v1/tenants/" + tenant + "/users", Map.of("email", "x@example.com", "name", "X", "role", "owner"));

        try (Connection c = server.appConnection(); Statement s = c.createStatement()) {
            for (String table : List.of("tenants", "users", "api_tokens", "policy_versions", "audit_log",
                    "enrollment_tokens", "instances")) {
                ResultSet rs = s.executeQuery("select count(*) from " + table);
                rs.next();
                assertThat(rs.getInt(1)).as(table).isZero();
            }
        }
    }

    @Test
    void appRoleCannotReadAdminTokenHashes() throws Exception {
        try (Connection c = server.appConnection(); Statement s = c.createStatement()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.executeQuery("select * from platform_admin_tokens"))
                    .hasMessageContaining("permission denied");
        }
    }

    @Test
    void concurrentRequestsOfManyTenantsNeverSeeForeignRows() throws Exception {
        int tenants = 20;
        List<UUID> ids = new ArrayList<>();
        List<Api> clients = new ArrayList<>();
        for (int i = 0; i < tenants; i++) {
            UUID id = admin.createTenant("Concurrent " + i);
            Api owner = admin.mintToken(id, "owner");
            for (int u = 0; u < 3; u++) {
                owner.post("/api/v1/tenants/" + id + "/users",
                        Map.of("email", "u" + u + "@t" + id + ".example", "name", "U" + u, "role", "viewer"));
            }
            ids.add(id);
            clients.add(owner);
        }

        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<List<String>>> results = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            results.add(pool.submit(() -> {
                List<String> foreign = new ArrayList<>();
                for (int r = 0; r < 60; r++) {
                    int i = ThreadLocalRandom.current().nextInt(tenants);
                    String suffix = "@t" + ids.get(i) + ".example";
                    Api.Response response = clients.get(i).get("/api/v1/tenants/" + ids.get(i) + "/users");
                    if (response.status() != 200 || response.list().size() != 3) {
                        foreign.add("tenant " + i + ": " + response);
                    }
                    for (Map<String, Object> user : response.list()) {
                        if (!((String) user.get("email")).endsWith(suffix)) {
                            foreign.add("tenant " + i + " saw " + user.get("email"));
                        }
                    }
                }
                return foreign;
            }));
        }
        List<String> foreign = new ArrayList<>();
        for (Future<List<String>> result : results) {
            foreign.addAll(result.get());
        }
        pool.shutdown();

        assertThat(foreign).isEmpty();
    }
}
