package dev.clawfence.agent.nflog;

/**
 * A netlink datagram that is not a well-formed nfnetlink_log message; the message names the structure,
 * the byte offset in the datagram and what was wrong. The only exception the parser throws for any input.
 */
public final class NflogFormatException extends Exception {

    public NflogFormatException(String message) {
        super(message);
    }
}
