package dev.clawfence.policy;

import java.util.List;

/**
 * A tenant's network policy (DESIGN.md "Policy document"): modes, inbound allowlist, ports and geo,
 * outbound destinations, ports and default action, and the policy's own tests. Immutable and always
 * valid: instances come from {@link PolicyValidator} or {@link #defaultPolicy()}.
 */
public record PolicyDocument(Modes mode, Inbound inbound, Outbound outbound, List<PolicyTest> tests) {

    public PolicyDocument {
        tests = List.copyOf(tests);
    }

    /** The policy a new tenant starts with: both directions off, tcp/443 open, no entries. */
    public static PolicyDocument defaultPolicy() {
        return new PolicyDocument(
                Modes.OFF,
                new Inbound(List.of(), List.of(PortRule.https()), Geo.NONE),
                new Outbound(List.of(), List.of(PortRule.https()), DefaultAction.ALLOW),
                List.of());
    }

    public PolicyDocument withInbound(Inbound newInbound) {
        return new PolicyDocument(mode, newInbound, outbound, tests);
    }

    public PolicyDocument withOutbound(Outbound newOutbound) {
        return new PolicyDocument(mode, inbound, newOutbound, tests);
    }

    public PolicyDocument withMode(Modes newMode) {
        return new PolicyDocument(newMode, inbound, outbound, tests);
    }

    public PolicyDocument withTests(List<PolicyTest> newTests) {
        return new PolicyDocument(mode, inbound, outbound, newTests);
    }
}
