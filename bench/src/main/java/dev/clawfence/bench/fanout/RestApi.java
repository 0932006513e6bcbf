package dev.clawfence.bench.fanout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** The few control-plane REST calls the benchmark makes, with a bearer token. */
final class RestApi {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A response: status, body as JSON (null when empty), and the version the {@code ETag} names. */
    record Reply(int status, JsonNode body, int etag) {}

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI base;

    RestApi(URI base) {
        this.base = base;
    }

    boolean healthy() {
        try {
            return http.send(HttpRequest.newBuilder(base.resolve("/health")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    Reply call(String method, String path, String token, Object body, Integer ifMatch) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/api/v1" + path))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token)
                .header("Accept", "application/json");
        if (ifMatch != null) {
            request.header("If-Match", "\"" + ifMatch + "\"");
        }
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        }
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode json = response.body().length == 0 ? null : JSON.readTree(response.body());
        int etag = response.headers().firstValue("ETag").map(t -> Integer.parseInt(t.replace("\"", ""))).orElse(-1);
        if (response.statusCode() / 100 != 2) {
            throw new IOException(method + " " + path + " answered " + response.statusCode() + ": " + json);
        }
        return new Reply(response.statusCode(), json, etag);
    }

    String text(Reply reply, String field) {
        JsonNode value = reply.body() == null ? null : reply.body().get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalStateException("the response has no text field \"" + field + "\": " + reply.body());
        }
        return value.asText();
    }

    static Map<String, Object> object(Object... keysAndValues) {
        java.util.LinkedHashMap<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
