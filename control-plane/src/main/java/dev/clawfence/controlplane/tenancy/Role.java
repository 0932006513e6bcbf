package dev.clawfence.controlplane.tenancy;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/** What a tenant user or API token may do: owners and admins change things, viewers only read. */
public enum Role {
    VIEWER("viewer"),
    ADMIN("admin"),
    OWNER("owner");

    /** The wire names, for validation messages. */
    public static final Set<String> NAMES = Arrays.stream(values()).map(Role::wireName).collect(Collectors.toSet());

    private final String wireName;

    Role(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public boolean canWrite() {
        return this != VIEWER;
    }

    /** Whether a holder of this role may hand out {@code other} (never more than it has itself). */
    public boolean covers(Role other) {
        return ordinal() >= other.ordinal();
    }

    public static Role fromWire(String name) {
        for (Role role : values()) {
            if (role.wireName.equals(name)) {
                return role;
            }
        }
        throw new IllegalArgumentException("unknown role " + name);
    }
}
