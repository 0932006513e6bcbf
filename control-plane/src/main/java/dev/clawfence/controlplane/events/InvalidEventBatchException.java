package dev.clawfence.controlplane.events;

import java.util.List;

/**
 * An event batch that breaks the wire contract; nothing of it was stored. The upload RPC maps it to
 * {@code INVALID_ARGUMENT} with {@link #getMessage()}, which names every problem (up to a limit).
 */
public final class InvalidEventBatchException extends RuntimeException {

    private static final int LISTED = 20;

    private final List<String> problems;

    InvalidEventBatchException(List<String> problems) {
        super(describe(problems));
        this.problems = List.copyOf(problems);
    }

    /** Every problem, each as {@code path: value and what is wrong}. */
    public List<String> problems() {
        return problems;
    }

    private static String describe(List<String> problems) {
        String listed = String.join("; ", problems.subList(0, Math.min(LISTED, problems.size())));
        String more = problems.size() > LISTED ? "; and " + (problems.size() - LISTED) + " more" : "";
        return "event batch refused, nothing stored: " + listed + more;
    }
}
