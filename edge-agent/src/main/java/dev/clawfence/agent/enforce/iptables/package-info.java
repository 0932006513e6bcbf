/**
 * The iptables fallback: ipsets plus the chains {@code CLAWFENCE-IN} and {@code CLAWFENCE-OUT} per
 * family, hooked once from INPUT and OUTPUT.
 */
package dev.clawfence.agent.enforce.iptables;
