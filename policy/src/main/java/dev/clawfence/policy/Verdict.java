package dev.clawfence.policy;

/** What happens to a connection attempt. */
public enum Verdict {
    ALLOWED("allowed"),
    BLOCKED("blocked"),
    /** Monitor mode: the policy would block it, but the packet passes and the attempt is logged. */
    WOULD_BLOCK("would-block");

    private final String wireName;

    Verdict(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON, events and logs. */
    public String wireName() {
        return wireName;
    }
}
