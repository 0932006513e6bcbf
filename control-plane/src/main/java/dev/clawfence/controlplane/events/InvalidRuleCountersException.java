package dev.clawfence.controlplane.events;

import java.util.List;

/**
 * A {@code RuleCounters} message that breaks the wire contract; nothing of it was stored. The Sync
 * stream answers it with {@code INVALID_ARGUMENT} and {@link #getMessage()}, which names every problem
 * (up to a limit).
 */
public final class InvalidRuleCountersException extends RuntimeException {

    private static final int LISTED = 20;

    InvalidRuleCountersException(List<String> problems) {
        super("rule counters refused, nothing stored: " + String.join("; ", problems.subList(0, Math.min(LISTED, problems.size())))
                + (problems.size() > LISTED ? "; and " + (problems.size() - LISTED) + " more" : ""));
    }
}
