package dev.clawfence.policy;

/** How the inbound country list is read: ignored, the only countries let in, or the countries kept out. */
public enum GeoMode {
    NONE("none"),
    ALLOW("allow"),
    BLOCK("block");

    private final String wireName;

    GeoMode(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON. */
    public String wireName() {
        return wireName;
    }
}
