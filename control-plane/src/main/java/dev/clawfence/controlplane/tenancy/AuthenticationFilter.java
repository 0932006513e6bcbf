package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.ProblemResponses;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * Requires a valid bearer token on every {@code /api} request and leaves the {@link Caller} on the
 * request; anything else gets a 401 problem.
 */
@ServerFilter("/api/**")
public final class AuthenticationFilter {

    private final Authenticator authenticator;

    public AuthenticationFilter(Authenticator authenticator) {
        this.authenticator = authenticator;
    }

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public HttpResponse<?> authenticate(HttpRequest<?> request) {
        String header = request.getHeaders().get("Authorization");
        if (header == null) {
            return ProblemResponses.response(ApiProblem.unauthorized(
                    "Send an API token as 'Authorization: Bearer cf_…'."));
        }
        Optional<Caller> caller = authenticator.authenticate(header, remoteAddress(request));
        if (caller.isEmpty()) {
            return ProblemResponses.response(ApiProblem.unauthorized("The API token is unknown, malformed or revoked."));
        }
        request.setAttribute(Caller.ATTRIBUTE, caller.get());
        return null;
    }

    private static String remoteAddress(HttpRequest<?> request) {
        InetSocketAddress address = request.getRemoteAddress();
        return address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
    }
}
