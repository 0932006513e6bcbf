package dev.clawfence.policy;

/** Why the evaluator reached its verdict: the step of the decision procedure (DESIGN.md) that decided. */
public enum Reason {
    PLATFORM("platform"),
    MODE_OFF("mode-off"),
    PORT_CLOSED("port-closed"),
    ALLOWLISTED("allowlisted"),
    NOT_ALLOWLISTED("not-allowlisted"),
    GEO("geo"),
    DESTINATION_ALLOWED("destination-allowed"),
    UNKNOWN_DESTINATION("unknown-destination"),
    DEFAULT("default");

    private final String wireName;

    Reason(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON, events and logs. */
    public String wireName() {
        return wireName;
    }
}
