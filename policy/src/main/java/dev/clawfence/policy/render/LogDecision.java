package dev.clawfence.policy.render;

import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import java.util.Optional;

/**
 * One decision step of a rendered ruleset that logs and counts: a direction, the verdict it gives
 * in the direction's mode and the policy reason. The kernel rules are per decision step, not per
 * tenant rule (one allowlist set stands for many entries), so a decision names no rule id; the
 * control plane attributes allowlisted and destination-allowed events to entries itself.
 *
 * <p>Names it gives the kernel:
 * <ul>
 *   <li>{@link #prefix()}: the NFLOG prefix {@code cf1 <a|b|w> - <reason>}, e.g. {@code cf1 b - port-closed}
 *       ({@code -}: no single tenant rule);
 *   <li>{@link #counterName()}: the nft counter object {@code <in|out>_<a|b|w>_<reason>}, e.g.
 *       {@code in_b_port_closed}, which {@link #ofCounterName} reads back.
 * </ul>
 */
public record LogDecision(Direction direction, Verdict verdict, Reason reason) {

    /** The rule id a prefix carries when its kernel rule stands for no single tenant rule. */
    public static final String NO_RULE = "-";

    public String prefix() {
        return "cf1 " + letter(verdict) + " " + NO_RULE + " " + reason.wireName();
    }

    public String counterName() {
        return (direction == Direction.INBOUND ? "in" : "out") + "_" + letter(verdict) + "_" + reason.wireName().replace('-', '_');
    }

    /** The decision a counter name of {@link #counterName()}'s form stands for; empty for any other name. */
    public static Optional<LogDecision> ofCounterName(String name) {
        String[] parts = name.split("_", 3);
        if (parts.length != 3) {
            return Optional.empty();
        }
        Direction direction = switch (parts[0]) {
            case "in" -> Direction.INBOUND;
            case "out" -> Direction.OUTBOUND;
            default -> null;
        };
        Verdict verdict = switch (parts[1]) {
            case "a" -> Verdict.ALLOWED;
            case "b" -> Verdict.BLOCKED;
            case "w" -> Verdict.WOULD_BLOCK;
            default -> null;
        };
        String wire = parts[2].replace('_', '-');
        for (Reason reason : Reason.values()) {
            if (direction != null && verdict != null && reason.wireName().equals(wire)) {
                return Optional.of(new LogDecision(direction, verdict, reason));
            }
        }
        return Optional.empty();
    }

    static String letter(Verdict verdict) {
        return switch (verdict) {
            case ALLOWED -> "a";
            case BLOCKED -> "b";
            case WOULD_BLOCK -> "w";
        };
    }
}
