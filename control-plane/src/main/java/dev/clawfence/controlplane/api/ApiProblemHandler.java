package dev.clawfence.controlplane.api;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import java.util.Map;

/** Turns an {@link ApiProblem} thrown anywhere in a request into its problem+json response. */
@Singleton
@Produces(ProblemResponses.PROBLEM_JSON)
public final class ApiProblemHandler implements ExceptionHandler<ApiProblem, HttpResponse<Map<String, Object>>> {

    @Override
    public HttpResponse<Map<String, Object>> handle(HttpRequest request, ApiProblem exception) {
        return ProblemResponses.response(exception);
    }
}
