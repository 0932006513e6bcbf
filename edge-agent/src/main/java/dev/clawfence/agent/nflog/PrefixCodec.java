package dev.clawfence.agent.nflog;

import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The log prefix of Clawfence's rules, {@code cf1 <verdict-letter> <rule-id> [<reason>]}, e.g.
 * {@code cf1 b - not-allowlisted}: {@code a} allowed, {@code b} blocked, {@code w} would-block. The
 * renderers write it ({@code dev.clawfence.policy.render.LogDecision#prefix()}) with rule id
 * {@link #NO_RULE} because their log rules stand for decision steps, not single tenant rules. It is kept
 * apart from the NFLOG parser, which hands the prefix over verbatim. The kernel keeps at most 127 bytes of a prefix ({@code NF_LOG_PREFIXLEN}),
 * so {@link #encode} refuses anything longer rather than let the kernel cut a rule id short.
 */
public final class PrefixCodec {

    /** What a Clawfence prefix says; {@code reason} may be null where the rule did not name one. */
    public record LogPrefix(Verdict verdict, String ruleId, Reason reason) {}

    static final String MAGIC = "cf1";
    /** The rule id of a prefix whose kernel rule stands for no single tenant rule. */
    public static final String NO_RULE = "-";
    static final int MAX_BYTES = 127;
    private static final Pattern RULE_ID = Pattern.compile("[A-Za-z0-9._:/-]{1,96}");

    private PrefixCodec() {}

    public static String encode(LogPrefix prefix) {
        if (prefix.ruleId() == null || !RULE_ID.matcher(prefix.ruleId()).matches()) {
            throw new IllegalArgumentException("ruleId: \"" + prefix.ruleId() + "\" cannot go into a log prefix"
                    + " (1-96 characters of A-Z a-z 0-9 . _ : / -)");
        }
        String text = MAGIC + " " + letter(prefix.verdict()) + " " + prefix.ruleId()
                + (prefix.reason() == null ? "" : " " + prefix.reason().wireName());
        if (text.length() > MAX_BYTES) {
            throw new IllegalArgumentException("ruleId: \"" + prefix.ruleId() + "\" makes the prefix " + text.length()
                    + " bytes long, the kernel keeps " + MAX_BYTES);
        }
        return text;
    }

    /**
     * Reads a prefix: empty if it is not a Clawfence prefix at all (another rule logging to the same group),
     * an IllegalArgumentException naming the part that is wrong if it claims to be one but is malformed.
     */
    public static Optional<LogPrefix> decode(String text) {
        if (text == null || !(text.equals(MAGIC) || text.startsWith(MAGIC + " "))) {
            return Optional.empty();
        }
        String[] parts = text.split(" ", -1);
        if (parts.length < 3 || parts.length > 4) {
            throw new IllegalArgumentException("log prefix \"" + text + "\": expected \"cf1 <a|b|w> <rule-id> [<reason>]\"");
        }
        Verdict verdict = switch (parts[1]) {
            case "a" -> Verdict.ALLOWED;
            case "b" -> Verdict.BLOCKED;
            case "w" -> Verdict.WOULD_BLOCK;
            default -> throw new IllegalArgumentException("log prefix \"" + text + "\": verdict letter \"" + parts[1]
                    + "\" is not a (allowed), b (blocked) or w (would-block)");
        };
        if (!RULE_ID.matcher(parts[2]).matches()) {
            throw new IllegalArgumentException("log prefix \"" + text + "\": rule id \"" + parts[2] + "\" is not 1-96 characters of A-Z a-z 0-9 . _ : / -");
        }
        Reason reason = null;
        if (parts.length == 4) {
            for (Reason candidate : Reason.values()) {
                if (candidate.wireName().equals(parts[3])) {
                    reason = candidate;
                }
            }
            if (reason == null) {
                throw new IllegalArgumentException("log prefix \"" + text + "\": reason \"" + parts[3] + "\" is not a known reason");
            }
        }
        return Optional.of(new LogPrefix(verdict, parts[2], reason));
    }

    private static String letter(Verdict verdict) {
        return switch (verdict) {
            case ALLOWED -> "a";
            case BLOCKED -> "b";
            case WOULD_BLOCK -> "w";
        };
    }
}
