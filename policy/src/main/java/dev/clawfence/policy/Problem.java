package dev.clawfence.policy;

/**
 * One finding about a policy document or a connection: where it is (a JSON path such as
 * {@code inbound.allowlist[3].cidr}), how bad it is, and a sentence that says what is wrong and what to
 * do, quoting the offending value.
 */
public record Problem(String path, Severity severity, String message) {

    public enum Severity {
        /** The document cannot be saved. */
        ERROR,
        /** The document can be saved, but probably does not say what its author meant. */
        WARNING
    }

    public static Problem error(String path, String message) {
        return new Problem(path, Severity.ERROR, message);
    }

    public static Problem warning(String path, String message) {
        return new Problem(path, Severity.WARNING, message);
    }

    /** The form shown to people and in logs: {@code path: message}. */
    @Override
    public String toString() {
        return path + ": " + message;
    }
}
