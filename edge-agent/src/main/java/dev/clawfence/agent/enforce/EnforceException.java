package dev.clawfence.agent.enforce;

import dev.clawfence.policy.compile.CompiledPolicy;
import java.util.function.Function;

/**
 * An enforcer could not do what it was asked; the message is the reason in words (the kernel tool's own
 * error where there is one). The ruleset in force before the call is still in force unless the message
 * says otherwise.
 */
public final class EnforceException extends Exception {

    public EnforceException(String message) {
        super(message);
    }

    public EnforceException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Renders {@code policy} for {@code backend}; a renderer's failure (a bug or an unsupported policy,
     * never user input, which is validated earlier) becomes an EnforceException naming the backend, so
     * that the agent reports FAILED and keeps the ruleset in force.
     */
    public static <T> T rendering(String backend, Function<CompiledPolicy, T> renderer, CompiledPolicy policy)
            throws EnforceException {
        try {
            return renderer.apply(policy);
        } catch (RuntimeException e) {
            throw new EnforceException("the policy cannot be rendered for " + backend + ": " + e.getMessage(), e);
        }
    }
}
