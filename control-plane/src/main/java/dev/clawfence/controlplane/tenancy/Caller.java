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

    public enum Kind { PLATFORM_ADMIN, TENANT_TOKEN }

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
        return isPlatformAdmin() || role.canWrite();
    }

    /** How the caller is named in audit entries, rule stamps and version authors. */
    public String actor() {
        return (isPlatformAdmin() ? "admin:" : "token:") + name;
    }

    public String kindName() {
        return isPlatformAdmin() ? "platform-admin" : "api-token";
    }
}
