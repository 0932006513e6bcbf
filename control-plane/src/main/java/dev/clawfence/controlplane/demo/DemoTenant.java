package dev.clawfence.controlplane.demo;

import static dev.clawfence.controlplane.database.jooq.Tables.API_TOKENS;

import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.tenancy.ApiTokens;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.Role;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.controlplane.tenancy.Tenants;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The demo tenant "Demo Co": created once with a realistic policy (inbound monitoring with a few
 * documented allowlist entries, outbound deny-by-default to two AI APIs, two policy tests); each start
 * revokes the previous demo token and mints a fresh one, since only token hashes are kept.
 */
@Singleton
public final class DemoTenant {

    public static final String NAME = "Demo Co";
    private static final String TOKEN_NAME = "demo";

    /** The demo tenant and a token for it that works until the next demo start. */
    public record Demo(UUID tenantId, String token) {}

    private final Tenants tenants;
    private final TenantAccess access;
    private final PolicyVersions versions;
    private final ApiTokens tokens;

    public DemoTenant(Tenants tenants, TenantAccess access, PolicyVersions versions, ApiTokens tokens) {
        this.tenants = tenants;
        this.access = access;
        this.versions = versions;
        this.tokens = tokens;
    }

    /** Creates the demo tenant unless it exists, and mints its token for this run. */
    public Demo ensure() {
        Caller system = Caller.system();
        UUID id = tenants.all().stream().filter(t -> t.name().equals(NAME)).map(Tenants.Tenant::id).findFirst()
                .orElseGet(() -> {
                    UUID created = tenants.create(system, NAME).id();
                    access.system(created, system, tx -> versions.save(tx, versions.current(tx).version(),
                            policy(Instant.now()), "Demo policy: monitor inbound, allow only AI APIs outbound"));
                    return created;
                });
        String token = access.system(id, system, tx -> {
            tx.sql().update(API_TOKENS).set(API_TOKENS.REVOKED_AT, OffsetDateTime.now())
                    .where(API_TOKENS.TENANT_ID.eq(id).and(API_TOKENS.NAME.eq(TOKEN_NAME)))
                    .and(API_TOKENS.REVOKED_AT.isNull())
                    .execute();
            return tokens.mint(tx, TOKEN_NAME, Role.OWNER).token();
        });
        return new Demo(id, token);
    }

    /** The demo policy as a client would send it; addresses only from documentation ranges. */
    static Map<String, Object> policy(Instant now) {
        Map<String, Object> https = Map.of("proto", "tcp", "port", 443, "description", "HTTPS to the assistant");
        return Map.of(
                "mode", Map.of("inbound", "monitor", "outbound", "enforce"),
                "inbound", Map.of(
                        "allowlist", List.of(
                                Map.of("cidr", "203.0.113.0/24", "description", "Head office VPN egress",
                                        "requestedBy", "it@demo.example"),
                                Map.of("cidr", "198.51.100.17", "ports", List.of(Map.of("proto", "tcp", "port", 443)),
                                        "description", "On-call engineer at home (temporary)",
                                        "requestedBy", "oncall@demo.example",
                                        "expiresAt", now.plus(90, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS).toString()),
                                Map.of("cidr", "2001:db8:1234::/48", "description", "Partner uptime monitor (IPv6)",
                                        "requestedBy", "partners@demo.example")),
                        "ports", List.of(https),
                        "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of(
                        "destinations", List.of(
                                Map.of("domain", "api.openai.com", "description", "OpenAI API",
                                        "requestedBy", "ml-team@demo.example"),
                                Map.of("domain", "*.anthropic.com", "description", "Anthropic API",
                                        "requestedBy", "ml-team@demo.example")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "HTTPS")),
                        "defaultAction", "deny"),
                "tests", List.of(
                        Map.of("direction", "outbound", "to", "api.openai.com", "port", 443, "proto", "tcp",
                                "expect", "allowed"),
                        Map.of("direction", "outbound", "to", "198.51.100.99", "port", 443, "proto", "tcp",
                                "expect", "blocked")));
    }
}
