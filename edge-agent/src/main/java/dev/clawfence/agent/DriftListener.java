package dev.clawfence.agent;

/** Hears about drift the agent found (the Sync client turns it into a {@code DriftReport}). */
@FunctionalInterface
public interface DriftListener {

    DriftListener NONE = (detail, restored) -> {};

    /** The ruleset had changed outside the agent's control: {@code detail} says how; {@code restored} whether it is back. */
    void drifted(String detail, boolean restored);
}
