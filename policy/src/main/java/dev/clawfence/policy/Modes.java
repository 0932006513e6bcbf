package dev.clawfence.policy;

/** How each direction of the policy is applied. */
public record Modes(Mode inbound, Mode outbound) {

    public static final Modes OFF = new Modes(Mode.OFF, Mode.OFF);

    /** The mode of one direction. */
    public Mode of(Direction direction) {
        return direction == Direction.INBOUND ? inbound : outbound;
    }
}
