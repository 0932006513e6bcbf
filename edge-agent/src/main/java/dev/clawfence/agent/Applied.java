package dev.clawfence.agent;

import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.proto.agent.v1.PolicyUpdate;

/** The policy version in force: its complete wire form, the compiled policy and the ruleset applied from it. */
public record Applied(long version, PolicyUpdate update, CompiledPolicy policy, AppliedRuleset ruleset) {}
