package dev.clawfence.controlplane.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A tiny JSON-over-HTTP client for tests: real HTTP against the server, bodies as trees. */
public final class Api {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** A response: status, headers and the body parsed as JSON (null when empty or not JSON). */
    public record Response(int status, java.net.http.HttpHeaders headers, String text, Object json) {

        @SuppressWarnings("unchecked")
        public Map<String, Object> map() {
            return (Map<String, Object>) json;
        }

        @SuppressWarnings("unchecked")
        public List<Map<String, Object>> list() {
            return (List<Map<String, Object>>) json;
        }

        /** The {@code path} of each entry of a problem's {@code errors}. */
        @SuppressWarnings("unchecked")
        public List<String> errorPaths() {
            return ((List<Map<String, Object>>) map().get("errors")).stream().map(e -> (String) e.get("path")).toList();
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        public String contentType() {
            return header("content-type");
        }

        @Override
        public String toString() {
            return status + " " + text;
        }
    }

    private final URI base;
    private final String token;

    public Api(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    /** The bearer token this client sends. */
    public String token() {
        return token;
    }

    public Api withToken(String other) {
        return new Api(base, other);
    }

    public Response get(String path) {
        return send("GET", path, null, Map.of());
    }

    public Response post(String path, Object body) {
        return send("POST", path, body, Map.of());
    }

    public Response put(String path, Object body, Map<String, String> headers) {
        return send("PUT", path, body, headers);
    }

    public Response delete(String path) {
        return send("DELETE", path, null, Map.of());
    }

    /** Sends {@code body} as JSON (a String is sent as is, for malformed-input tests). */
    public Response send(String method, String path, Object body, Map<String, String> headers) {
        try {
            String text = body == null ? null : body instanceof String s ? s : MAPPER.writeValueAsString(body);
            HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
                    .method(method, text == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(text));
            if (text != null && !headers.containsKey("Content-Type")) {
                request.header("Content-Type", "application/json");
            }
            if (token != null) {
                request.header("Authorization", "Bearer " + token);
            }
            headers.forEach(request::header);
            HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            Object json = null;
            if (!response.body().isBlank()) {
                try {
                    json = MAPPER.readValue(response.body(), Object.class);
                } catch (IOException e) {
                    json = null;
                }
            }
            return new Response(response.statusCode(), response.headers(), response.body(), json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Creates a tenant (this client must hold the admin token) and returns its id. */
    public UUID createTenant(String name) {
        Response r = post("/api/v1/tenants", Map.of("name", name));
        if (r.status() != 201) {
            throw new AssertionError("tenant creation failed: " + r);
        }
        return UUID.fromString((String) r.map().get("id"));
    }

    /** Mints a token of {@code role} in {@code tenant} and returns a client holding it. */
    public Api mintToken(UUID tenant, String role) {
        Response r = post("/api/v1/tenants/" + tenant + "/api-tokens", Map.of("name", role + "-token", "role", role));
        if (r.status() != 201) {
            throw new AssertionError("token creation failed: " + r);
        }
        return withToken((String) r.map().get("token"));
    }
}
