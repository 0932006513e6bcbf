package dev.clawfence.policy;

import java.util.Map;

/**
 * Turns a policy document into a JSON-shaped tree with the stable field names of DESIGN.md, in a
 * fixed field order; {@link PolicyValidator#validate} of the result gives back an equal document.
 */
public final class PolicyDocumentWriter {

    private PolicyDocumentWriter() {}

    public static Map<String, Object> toTree(PolicyDocument document) {
        throw new UnsupportedOperationException("in progress");
    }
}
