package dev.clawfence.agent.sync;

/** Enrolment did not complete; the message says why in one line (never the token's secret). */
public final class EnrolmentException extends Exception {

    public EnrolmentException(String message, Throwable cause) {
        super(message, cause);
    }

    public EnrolmentException(String message) {
        super(message);
    }
}
