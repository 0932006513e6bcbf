package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.api.ApiProblem;
import io.micronaut.http.HttpRequest;
import java.util.UUID;

/**
 * Who is making the current request: a platform admin (any tenant) or a tenant's API token (its own
 * tenant only, with its role), and the address the request came from.
 *
 * @param tenantId null for a platform admin
 * @param role null for a platform admin
 */
public record Caller(Kind kind, UUID tokenId, String name, UUID tenantId, Role role, String remoteAddress) {

    /** The request attribute under which {@link AuthenticationFilter} leaves the caller. */
    public static final String ATTRIBUTE = "clawfence.caller";

    public enum Kind { PLATFORM_ADMIN, TENANT_TOKEN, SYSTEM, AGENT }

    /** The service itself, for work nobody requested (the default policy, the demo tenant). */
    public static Caller system() {
        return new Caller(Kind.SYSTEM, null, "system", null, null, null);
    }

    /** An edge agent acting for its own instance of {@code tenant} (enrolment, sync reports). */
    public static Caller agent(UUID tenant, UUID instance, String remoteAddress) {
        return new Caller(Kind.AGENT, null, instance.toString(), tenant, null, remoteAddress);
    }

    /** The authenticated caller of {@code request}; the filter guarantees one on every {@code /api} route. */
    public static Caller of(HttpRequest<?> request) {
        return request.getAttribute(ATTRIBUTE, Caller.class)
                .orElseThrow(() -> ApiProblem.unauthorized("Send an API token as 'Authorization: Bearer cf_…'."));
    }

    public boolean isPlatformAdmin() {
        return kind == Kind.PLATFORM_ADMIN;
    }

    /** Whether this caller may see {@code tenant} at all; others must not even learn that it exists. */
    public boolean mayAccess(UUID tenant) {
        return isPlatformAdmin() || tenant.equals(tenantId);
    }

    public boolean canWrite() {
        return kind != Kind.TENANT_TOKEN || role.canWrite();
    }

    /** How the caller is named in audit entries, rule stamps and version authors. */
    public String actor() {
        return switch (kind) {
            case PLATFORM_ADMIN -> "admin:" + name;
            case TENANT_TOKEN -> "token:" + name;
            case SYSTEM -> "system";
            case AGENT -> "agent:" + name;
        };
    }

    public String kindName() {
        return switch (kind) {
            case PLATFORM_ADMIN -> "platform-admin";
            case TENANT_TOKEN -> "api-token";
            case SYSTEM -> "system";
            case AGENT -> "agent";
        };
    }
}
