package dev.clawfence.controlplane.api;

import java.util.UUID;

/** Path parameters that name things by UUID: anything else is a 400 problem naming the parameter. */
public final class Ids {

    private Ids() {}

    public static UUID parse(String name, String value) {
        try {
            if (value != null && value.length() == 36) {
                return UUID.fromString(value);
            }
        } catch (IllegalArgumentException e) {
            // falls through to the problem below
        }
        throw ApiProblem.badRequest(name, "\"" + value + "\" is not a UUID");
    }
}
