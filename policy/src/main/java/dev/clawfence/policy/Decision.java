package dev.clawfence.policy;

/**
 * The evaluator's answer for one connection: the verdict, the step that decided it, the id of the
 * deciding rule (null when no rule of the tenant's decided, e.g. {@code not-allowlisted}), and one
 * sentence for people.
 */
public record Decision(Verdict verdict, Reason reason, String ruleId, String explanation) {}
