package dev.clawfence.agent;

import java.time.Duration;

/**
 * Proof that the control plane is still reachable after a new ruleset went in: the Sync client
 * implements it with a Ping/Pong round trip. {@link SafeApply} rolls back when it does not succeed
 * within the deadline (commit-confirmed), whatever the implementation does with the deadline itself.
 */
@FunctionalInterface
public interface Confirmation {

    /** Always confirms (no control plane to lose, e.g. a policy applied from disk at boot). */
    Confirmation NOT_NEEDED = deadline -> true;

    /**
     * Completes one round trip to the control plane.
     *
     * @return whether it completed within {@code deadline}
     */
    boolean confirm(Duration deadline) throws Exception;
}
