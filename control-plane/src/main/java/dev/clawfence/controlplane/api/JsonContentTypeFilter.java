package dev.clawfence.controlplane.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.util.List;

/**
 * Refuses {@code /api} request bodies that are not JSON with a 415 problem, before any handler reads
 * them: handlers take the body as text and parse it themselves, for precise error paths.
 */
@ServerFilter("/api/**")
public final class JsonContentTypeFilter {

    @RequestFilter
    @Nullable
    public HttpResponse<?> checkContentType(HttpRequest<?> request) {
        boolean hasBody = request.getContentLength() > 0 || request.getHeaders().contains("Transfer-Encoding");
        if (!hasBody) {
            return null;
        }
        MediaType type = request.getContentType().orElse(null);
        if (type != null && (type.matches(MediaType.APPLICATION_JSON_TYPE) || type.getSubtype().endsWith("+json"))) {
            return null;
        }
        return ProblemResponses.response(new ApiProblem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
                "Send the request body as application/json, not " + (type == null ? "without a Content-Type" : type) + ".",
                List.of(new ApiProblem.FieldError("Content-Type", "must be application/json"))));
    }
}
