package dev.clawfence.agent.sync;

/** A wire message is malformed, incomplete or fails its hash check; the message says which field and why. */
public final class WireException extends Exception {

    public WireException(String message) {
        super(message);
    }
}
