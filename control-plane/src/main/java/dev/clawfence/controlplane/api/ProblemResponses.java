package dev.clawfence.controlplane.api;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renders every error response as RFC 9457 {@code application/problem+json}: our own {@link ApiProblem}s
 * and the framework's (unknown route, unsupported media type, unreadable body). A 5xx never shows its
 * cause to the client; it is logged instead.
 */
@Singleton
@Replaces(ErrorResponseProcessor.class)
@Produces(ProblemResponses.PROBLEM_JSON)
public final class ProblemResponses implements ErrorResponseProcessor<Map<String, Object>> {

    public static final String PROBLEM_JSON = "application/problem+json";

    private static final Logger LOG = LoggerFactory.getLogger(ProblemResponses.class);

    /** The body of a problem response. */
    public static Map<String, Object> body(HttpStatus status, String title, String detail, List<ApiProblem.FieldError> errors) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", title);
        body.put("status", status.getCode());
        body.put("detail", detail);
        List<Map<String, String>> list = new ArrayList<>();
        for (ApiProblem.FieldError e : errors) {
            Map<String, String> error = new LinkedHashMap<>();
            error.put("path", e.path());
            error.put("message", e.message());
            list.add(error);
        }
        body.put("errors", list);
        return body;
    }

    /** The response for {@code problem}. */
    public static MutableHttpResponse<Map<String, Object>> response(ApiProblem problem) {
        return HttpResponse.<Map<String, Object>>status(problem.status())
                .contentType(PROBLEM_JSON)
                .body(body(problem.status(), problem.title(), problem.detail(), problem.errors()));
    }

    @Override
    public MutableHttpResponse<Map<String, Object>> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
        HttpStatus status = response.getStatus();
        String title = status.getReason();
        String detail;
        List<ApiProblem.FieldError> errors = new ArrayList<>();
        if (status.getCode() >= 500) {
            context.getRootCause().ifPresent(cause -> LOG.error("Request {} {} failed",
                    context.getRequest().getMethod(), context.getRequest().getPath(), cause));
            detail = "The server could not handle this request; the error has been logged.";
        } else {
            detail = switch (status) {
                case NOT_FOUND -> "No resource at " + context.getRequest().getPath();
                case UNSUPPORTED_MEDIA_TYPE -> "Send the request body as application/json.";
                case METHOD_NOT_ALLOWED -> context.getRequest().getMethod() + " is not allowed on "
                        + context.getRequest().getPath();
                default -> context.getErrors().isEmpty() ? title : context.getErrors().getFirst().getMessage();
            };
            context.getErrors().forEach(e -> e.getPath().ifPresent(path -> errors.add(
                    new ApiProblem.FieldError(path, e.getMessage()))));
        }
        if (context.getRequest().getMethod() == io.micronaut.http.HttpMethod.HEAD) {
            return (MutableHttpResponse<Map<String, Object>>) response;
        }
        return response.contentType(PROBLEM_JSON).body(body(status, title, detail, errors));
    }
}
