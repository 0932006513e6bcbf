package dev.clawfence.policy;

/** What happens to an outbound connection to a destination that no destination entry names. */
public enum DefaultAction {
    ALLOW("allow"),
    DENY("deny");

    private final String wireName;

    DefaultAction(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON. */
    public String wireName() {
        return wireName;
    }
}
