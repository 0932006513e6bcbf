/**
 * Turns a {@link dev.clawfence.policy.compile.CompiledPolicy} into firewall text: an nftables ruleset
 * ({@link dev.clawfence.policy.render.NftRenderer}, the primary backend) or ipset and iptables-restore
 * input ({@link dev.clawfence.policy.render.IptablesRenderer}, for hosts without nftables). Pure functions from compiled policy to text, with
 * deterministic output (stable names, sorted elements, no timestamps) so that equal policies give equal
 * text and golden files can pin it.
 *
 * <p>Belongs here: firewall syntax. Does not belong here: policy semantics (they are decided in
 * {@code dev.clawfence.policy.compile}) and running {@code nft} (the agent's enforcer does that).
 */
package dev.clawfence.policy.render;
