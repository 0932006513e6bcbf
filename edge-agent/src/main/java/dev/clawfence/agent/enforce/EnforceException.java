package dev.clawfence.agent.enforce;

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
}
