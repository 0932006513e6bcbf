package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Validated;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.DefaultAction;
import dev.clawfence.proto.agent.v1.GeoMode;
import dev.clawfence.proto.agent.v1.Mode;
import dev.clawfence.proto.agent.v1.PortRange;
import dev.clawfence.proto.agent.v1.Protocol;
import dev.clawfence.proto.agent.v1.SetRef;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CompiledPolicyWireTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private static CompiledPolicyWire.Wire wire() {
        Map<String, Object> tree = Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "enforce"),
                "inbound", Map.of(
                        "allowlist", List.of(
                                Map.of("cidr", "198.51.100.0/24", "description", "office", "requestedBy", "ann@example.com"),
                                Map.of("cidr", "2001:db8::/32", "description", "v6", "requestedBy", "ann@example.com",
                                        "ports", List.of(Map.of("proto", "tcp", "port", 8000, "endPort", 8080)))),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of(
                        "destinations", List.of(Map.of("domain", "*.example.com", "description", "api", "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "udp", "port", 53, "description", "dns")),
                        "defaultAction", "deny"),
                "tests", List.of());
        Validated<PolicyDocument> document = PolicyValidator.validate(tree, NOW);
        assertThat(document.errors()).isEmpty();
        return CompiledPolicyWire.toWire(PolicyCompiler.compile(document.value(),
                new PlatformRules(List.of(), List.of("192.0.2.10/32"), List.of()), CountryRanges.NONE, NOW));
    }

    @Test
    void modesAndEnumsTranslateByName() {
        var policy = wire().policy();

        assertThat(policy.getInboundMode()).isEqualTo(Mode.MODE_ENFORCE);
        assertThat(policy.getOutboundMode()).isEqualTo(Mode.MODE_ENFORCE);
        assertThat(policy.getGeoMode()).isEqualTo(GeoMode.GEO_MODE_NONE);
        assertThat(policy.getDefaultAction()).isEqualTo(DefaultAction.DEFAULT_ACTION_DENY);
        assertThat(policy.getAllowlistActive()).isTrue();
        assertThat(policy.getValidUntilEpochMillis()).isZero();
        assertThat(policy.getDomains(0).getName()).isEqualTo("example.com");
        assertThat(policy.getDomains(0).getWildcard()).isTrue();
    }

    @Test
    void everySetIsNamedByItsHashAndCarriedOnce() {
        CompiledPolicyWire.Wire wire = wire();

        assertThat(wire.policy().getSetsList()).extracting(SetRef::getName)
                .containsExactlyElementsOf(wire.sets().stream().map(CompiledSet::getName).toList());
        assertThat(wire.policy().getSetsList()).extracting(SetRef::getHash)
                .containsExactlyElementsOf(wire.sets().stream().map(CompiledSet::getHash).toList());
        assertThat(wire.sets()).allSatisfy(set -> assertThat(set.getHash()).matches("[0-9a-f]{64}"));
    }

    @Test
    void addressesAreNetworkOrderBytesOfTheirFamily() {
        CompiledPolicyWire.Wire wire = wire();
        CompiledSet control4 = set(wire, "cp4");
        CompiledSet allow6 = set(wire, "allow6");

        assertThat(control4.getType()).isEqualTo(CompiledSet.Type.IPV4_ADDRESSES);
        assertThat(control4.getAddresses(0).getFirst().toByteArray()).containsExactly(192, 0, 2, 10);
        assertThat(allow6.getType()).isEqualTo(CompiledSet.Type.IPV6_BOXES);
        assertThat(allow6.getBoxes(0).getAddresses().getFirst().toByteArray()).hasSize(16)
                .startsWith((byte) 0x20, (byte) 0x01, (byte) 0x0d, (byte) 0xb8, (byte) 0, (byte) 0);
        assertThat(allow6.getBoxes(0).getAddresses().getLast().toByteArray()).hasSize(16)
                .endsWith((byte) 0xff, (byte) 0xff);
        assertThat(allow6.getBoxes(0).getPorts()).isEqualTo(PortRange.newBuilder()
                .setProtocol(Protocol.PROTOCOL_TCP).setFirst(8000).setLast(8080).build());
        assertThat(set(wire, "out_ports").getPorts(0).getProtocol()).isEqualTo(Protocol.PROTOCOL_UDP);
    }

    private static CompiledSet set(CompiledPolicyWire.Wire wire, String name) {
        return wire.sets().stream().filter(s -> s.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no set " + name + " in " + wire.sets().stream().map(CompiledSet::getName).toList()));
    }
}
