package dev.clawfence.policy;

/** How one direction of a policy is applied: not at all, computed and logged only, or enforced. */
public enum Mode {
    OFF("off"),
    /** Decisions are computed and logged; a would-be block is logged as {@code would-block} and passes. */
    MONITOR("monitor"),
    ENFORCE("enforce");

    private final String wireName;

    Mode(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON. */
    public String wireName() {
        return wireName;
    }
}
