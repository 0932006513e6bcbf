package dev.clawfence.policy.render;

import java.util.ArrayList;
import java.util.List;

/**
 * How a rendered ruleset reports connection attempts: one NFLOG message per attempt that reaches a
 * tenant decision, to {@code group}, under a kernel rate limit of {@code ratePerSecond} with
 * {@code burst}. The limit only ever drops log messages, never changes a verdict; the per-decision
 * counters count every attempt either way. With {@code enabled} false the ruleset logs nothing and
 * keeps its counters.
 */
public record EventLogging(boolean enabled, int group, int ratePerSecond, int burst) {

    /** One event per attempt up to 1,000 a second (a burst of 200), to NFLOG group 100. */
    public static final EventLogging DEFAULT = new EventLogging(true, 100, 1000, 200);

    /** Limits that keep every rendered statement valid for both nft and iptables' limit matches. */
    static final int MAX_GROUP = 65535;
    static final int MAX_RATE = 1_000_000;

    public EventLogging {
        List<String> problems = problems(group, ratePerSecond, burst);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    /** Every problem with these values, each naming its field; empty when they are fine. */
    public static List<String> problems(int group, int ratePerSecond, int burst) {
        List<String> problems = new ArrayList<>();
        if (group < 0 || group > MAX_GROUP) {
            problems.add("nflogGroup: " + group + " is not an NFLOG group (0-" + MAX_GROUP + ")");
        }
        if (ratePerSecond < 1 || ratePerSecond > MAX_RATE) {
            problems.add("rate: " + ratePerSecond + " events/s is out of range (1-" + MAX_RATE + ")");
        }
        if (burst < 1 || burst > MAX_RATE) {
            problems.add("burst: " + burst + " events is out of range (1-" + MAX_RATE + ")");
        }
        return problems;
    }
}
