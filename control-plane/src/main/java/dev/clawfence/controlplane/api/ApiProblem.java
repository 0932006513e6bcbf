package dev.clawfence.controlplane.api;

import io.micronaut.http.HttpStatus;
import java.util.List;

/**
 * A request that cannot be served, as the client will see it: an HTTP status, a title, a detail sentence
 * and, for input problems, each offending field with its JSON path. Rendered once, by {@link
 * ProblemResponses}, as {@code application/problem+json}.
 */
public final class ApiProblem extends RuntimeException {

    /** One offending field: its JSON path (e.g. {@code policy.inbound.allowlist[0].cidr}) and what is wrong. */
    public record FieldError(String path, String message) {}

    private final HttpStatus status;
    private final String title;
    private final List<FieldError> errors;

    public ApiProblem(HttpStatus status, String title, String detail, List<FieldError> errors) {
        super(detail, null, false, false);
        this.status = status;
        this.title = title;
        this.errors = List.copyOf(errors);
    }

    public static ApiProblem badRequest(String path, String message) {
        return new ApiProblem(HttpStatus.BAD_REQUEST, "Bad request", path + ": " + message,
                List.of(new FieldError(path, message)));
    }

    public static ApiProblem invalid(String detail, List<FieldError> errors) {
        return new ApiProblem(HttpStatus.UNPROCESSABLE_ENTITY, "Invalid request", detail, errors);
    }

    public static ApiProblem notFound(String detail) {
        return new ApiProblem(HttpStatus.NOT_FOUND, "Not found", detail, List.of());
    }

    public static ApiProblem unauthorized(String detail) {
        return new ApiProblem(HttpStatus.UNAUTHORIZED, "Unauthorized", detail, List.of());
    }

    public static ApiProblem forbidden(String detail) {
        return new ApiProblem(HttpStatus.FORBIDDEN, "Forbidden", detail, List.of());
    }

    public static ApiProblem conflict(String detail) {
        return new ApiProblem(HttpStatus.CONFLICT, "Conflict", detail, List.of());
    }

    public static ApiProblem preconditionFailed(String detail) {
        return new ApiProblem(HttpStatus.PRECONDITION_FAILED, "Precondition failed", detail, List.of());
    }

    public static ApiProblem preconditionRequired(String detail) {
        return new ApiProblem(HttpStatus.PRECONDITION_REQUIRED, "Precondition required", detail, List.of());
    }

    public HttpStatus status() {
        return status;
    }

    public String title() {
        return title;
    }

    public String detail() {
        return getMessage();
    }

    public List<FieldError> errors() {
        return errors;
    }
}
