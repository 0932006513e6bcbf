package dev.clawfence.agent;

/**
 * What became of one policy version: what the agent reports as {@code ApplyResult}.
 *
 * @param reason why it failed or was rolled back, for support staff; empty when applied
 * @param rulesetHash SHA-256 of the ruleset in force afterwards, empty when none is
 */
public record ApplyOutcome(long version, Outcome outcome, String reason, String rulesetHash) {

    /** The three outcomes of {@code ApplyResult.Outcome}. */
    public enum Outcome {
        /** The version is enforced and stored as the last applied one. */
        APPLIED,
        /** The version could not be applied; the previous ruleset stays in force. */
        FAILED,
        /** The version went in, was not confirmed in time, and the previous ruleset was restored. */
        ROLLED_BACK
    }
}
