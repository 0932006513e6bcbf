/**
 * Compiles a validated policy into the agent's input: {@link dev.clawfence.policy.compile.CompiledPolicy},
 * a set-based form (named, content-hashed address, port and box sets) that a firewall backend turns into
 * rules without any further policy logic.
 *
 * <p>Belongs here: the translation of policy semantics (DESIGN.md decision procedures, as
 * {@link dev.clawfence.policy.Evaluator} implements them) into disjoint sets. Does not belong here: any
 * firewall syntax (see {@code dev.clawfence.policy.render}), files, processes or clocks; time comes in as
 * an argument. No user text (descriptions, requestedBy) is carried into a compiled policy.
 */
package dev.clawfence.policy.compile;
