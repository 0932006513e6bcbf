package dev.clawfence.controlplane.policy;

import dev.clawfence.policy.PolicyDocumentWriter;
import dev.clawfence.policy.Problem;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON shapes of a policy version, shared by REST and the admin gRPC service: a summary
 * {@code {version, author, authorId, message, createdAt, contentHash}} and the full view, which adds
 * {@code policy} (the engine's document tree) and {@code warnings} ({@code [{path, message}]}).
 */
public final class PolicyViews {

    private PolicyViews() {}

    public static Map<String, Object> summary(PolicyVersion version) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("version", version.version());
        body.put("author", version.author());
        body.put("authorId", version.authorId());
        body.put("message", version.message());
        body.put("createdAt", version.createdAt().toString());
        body.put("contentHash", version.contentHash());
        return body;
    }

    public static Map<String, Object> full(PolicyVersion version, List<Problem> warnings) {
        Map<String, Object> body = summary(version);
        body.put("policy", PolicyDocumentWriter.toTree(version.document()));
        body.put("warnings", warnings.stream().map(p -> Map.of("path", p.path(), "message", p.message())).toList());
        return body;
    }
}
