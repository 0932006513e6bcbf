/** The nftables backend: one {@code nft -f} transaction replaces table {@code inet clawfence}. */
package dev.clawfence.agent.enforce.nftables;
