package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.ProblemResponses;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.database.jooq.Routines;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.InetSocketAddress;

/**
 * Requires a valid bearer token on every {@code /api} request and leaves the {@link Caller} on the
 * request; anything else gets a 401 problem. Tokens are looked up by hash through the database's
 * {@code clawfence_authenticate} function, since no tenant context exists yet.
 */
@ServerFilter("/api/**")
public final class AuthenticationFilter {

    private final Database database;

    public AuthenticationFilter(Database database) {
        this.database = database;
    }

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public HttpResponse<?> authenticate(HttpRequest<?> request) {
        String header = request.getHeaders().get("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            return ProblemResponses.response(ApiProblem.unauthorized(
                    "Send an API token as 'Authorization: Bearer cf_…'."));
        }
        String remote = remoteAddress(request);
        byte[] hash = TokenText.hash(header.substring(7).strip());
        var found = database.withoutTenant(sql -> sql.selectFrom(Routines.clawfenceAuthenticate(hash)).fetchOptional());
        if (found.isEmpty()) {
            return ProblemResponses.response(ApiProblem.unauthorized("The API token is unknown or revoked."));
        }
        var row = found.get();
        Caller caller = row.getTenantId() == null
                ? new Caller(Caller.Kind.PLATFORM_ADMIN, row.getTokenId(), row.getName(), null, null, remote)
                : new Caller(Caller.Kind.TENANT_TOKEN, row.getTokenId(), row.getName(), row.getTenantId(),
                        Role.fromWire(row.getRole()), remote);
        request.setAttribute(Caller.ATTRIBUTE, caller);
        return null;
    }

    private static String remoteAddress(HttpRequest<?> request) {
        InetSocketAddress address = request.getRemoteAddress();
        return address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
    }
}
