package dev.clawfence.agent;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Geo;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.Outbound;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Provenance;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PlatformSets;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.agent.sync.PolicyWire;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import inet.ipaddr.IPAddressString;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Tiny builders for the agent's tests: an inbound policy that opens tcp 443 and 22 to an allowlist. */
public final class TestPolicies {

    public static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private TestPolicies() {}

    /** Inbound enforced: tcp 443 and 22 open, only {@code allowlisted} (CIDRs, all ports) let in; outbound off. */
    public static CompiledPolicy inbound(String... allowlisted) {
        List<AllowlistEntry> allowlist = java.util.Arrays.stream(allowlisted)
                .map(cidr -> new AllowlistEntry("a", cidr, List.of(), "d", "r", null, Provenance.NONE))
                .toList();
        PolicyDocument policy = new PolicyDocument(new Modes(Mode.ENFORCE, Mode.OFF),
                new Inbound(allowlist, List.of(rule(PortSpec.tcp(443)), rule(PortSpec.tcp(22))), Geo.NONE),
                new Outbound(List.of(), List.of(), DefaultAction.ALLOW), List.of());
        return PolicyCompiler.compile(policy, PlatformRules.NONE, CountryRanges.NONE, NOW);
    }

    /** Like {@link #inbound}, as a document whose allowlist entries expire as given (null: never), in the map's order. */
    public static PolicyDocument expiring(Map<String, Instant> allowlisted) {
        List<AllowlistEntry> allowlist = allowlisted.entrySet().stream()
                .map(entry -> new AllowlistEntry("a", entry.getKey(), List.of(), "d", "r", entry.getValue(), Provenance.NONE))
                .toList();
        return new PolicyDocument(new Modes(Mode.ENFORCE, Mode.OFF),
                new Inbound(allowlist, List.of(rule(PortSpec.tcp(443)), rule(PortSpec.tcp(22))), Geo.NONE),
                new Outbound(List.of(), List.of(), DefaultAction.ALLOW), List.of());
    }

    /** {@code document} compiled at {@code now} with its expiry schedule (next 64 expiries), as the control plane sends it. */
    public static PolicyUpdate scheduled(long version, PolicyDocument document, Instant now) {
        return PolicyWire.toWire(version, PolicyCompiler.compile(document, PlatformRules.NONE, CountryRanges.NONE, now),
                PolicyCompiler.schedule(document, PlatformRules.NONE, CountryRanges.NONE, now, 64, now.plus(java.time.Duration.ofDays(7))));
    }

    public static PolicyUpdate update(long version, CompiledPolicy policy) {
        return PolicyWire.toWire(version, policy);
    }

    /**
     * A policy nft refuses: its management set holds overlapping ranges ("conflicting intervals"), which
     * the compiler never produces but a buggy or forged update could.
     */
    public static CompiledPolicy refusedByNft() {
        CompiledPolicy base = inbound("203.0.113.2/32");
        CompiledSet<AddressRange> overlapping = CompiledSet.of("mgmt4", base.platform().management4().type(), List.of(
                AddressRange.ofBlock(new IPAddressString("198.51.100.0/24").getAddress()),
                new AddressRange(new IPAddressString("198.51.100.5").getAddress(), new IPAddressString("198.51.100.9").getAddress())));
        PlatformSets platform = base.platform();
        return new CompiledPolicy(base.modes(), new PlatformSets(overlapping, platform.management6(), platform.controlPlane4(),
                platform.controlPlane6(), platform.dns4(), platform.dns6()), base.inbound(), base.outbound(), base.validUntil());
    }

    private static PortRule rule(PortSpec spec) {
        return new PortRule("p", spec, "d", null, Provenance.NONE);
    }
}
