package dev.clawfence.policy;

/**
 * A tenant's network policy (DESIGN.md "Policy document"): modes, inbound allowlist, ports and geo,
 * outbound destinations, ports and default action, and the policy's own tests. Immutable and always
 * valid: instances come from {@link PolicyValidator} or {@link #defaultPolicy()}.
 */
public record PolicyDocument() {

    /** The policy a new tenant starts with: both directions off, tcp/443 open, no entries. */
    public static PolicyDocument defaultPolicy() {
        throw new UnsupportedOperationException("in progress");
    }
}
