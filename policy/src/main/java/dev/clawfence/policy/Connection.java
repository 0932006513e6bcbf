package dev.clawfence.policy;

/**
 * A new connection attempt to evaluate. Fields to be completed by the policy engine: direction,
 * source and destination (outbound destination may be a domain name), port, protocol, country.
 */
public record Connection(Direction direction) {}
