/**
 * Enforcement: the {@link dev.clawfence.agent.enforce.Enforcer} interface, the only code that runs
 * {@code nft}, {@code iptables} or {@code ipset}, through one {@link dev.clawfence.agent.enforce.CommandRunner}.
 * Each backend lives in its own sub-package ({@code nftables}, {@code iptables}, {@code dryrun}); {@link
 * dev.clawfence.agent.enforce.Backends} picks one.
 */
package dev.clawfence.agent.enforce;
