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
import dev.clawfence.proto.agent.v1.ScheduledPolicy;
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

    /** An allowlist of {@code count} /32 entries, entry i expiring i+1 hours after NOW, plus one that never does. */
    private static PolicyDocument expiring(int count) {
        List<Map<String, Object>> allowlist = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            allowlist.add(Map.of("cidr", "198.51.100." + i + "/32", "description", "guest " + i, "requestedBy", "ann@example.com",
                    "expiresAt", NOW.plusSeconds(3600L * (i + 1)).toString()));
        }
        allowlist.add(Map.of("cidr", "203.0.113.0/24", "description", "office", "requestedBy", "ann@example.com"));
        Validated<PolicyDocument> document = PolicyValidator.validate(Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "off"),
                "inbound", Map.of("allowlist", allowlist, "ports", List.of(), "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of("destinations", List.of(), "ports", List.of(), "defaultAction", "allow"),
                "tests", List.of()), NOW);
        assertThat(document.errors()).isEmpty();
        return document.value();
    }

    @Test
    void aScheduleNamesItsSetsByHashAndAddsOnlyContentNotAlreadyCarried() {
        PolicyDocument document = expiring(3);
        PlatformRules platform = new PlatformRules(List.of(), List.of("192.0.2.10/32"), List.of());
        var main = PolicyCompiler.compile(document, platform, CountryRanges.NONE, NOW);
        var schedule = PolicyCompiler.schedule(document, platform, CountryRanges.NONE, NOW, 64, NOW.plusSeconds(86400));

        CompiledPolicyWire.Wire wire = CompiledPolicyWire.toWire(main, schedule.stream(), 1 << 20);

        assertThat(wire.scheduled()).extracting(ScheduledPolicy::getEffectiveFromEpochMillis)
                .containsExactly(NOW.plusSeconds(3600).toEpochMilli(), NOW.plusSeconds(7200).toEpochMilli(), NOW.plusSeconds(10800).toEpochMilli());
        assertThat(wire.scheduled().getLast().getPolicy().getValidUntilEpochMillis()).isZero();
        assertThat(wire.policy().getValidUntilEpochMillis()).isEqualTo(wire.scheduled().getFirst().getEffectiveFromEpochMillis());
        java.util.Set<String> carried = wire.sets().stream().map(CompiledSet::getHash).collect(java.util.stream.Collectors.toSet());
        for (ScheduledPolicy step : wire.scheduled()) {
            assertThat(step.getPolicy().getSetsList()).extracting(SetRef::getHash).allSatisfy(hash -> assertThat(carried).contains(hash));
        }
        // Each step changes allow4 and allow4_addrs only: two new sets per step, nothing else again.
        assertThat(wire.sets()).hasSize(main.sets().size() + 2 * 3);
        assertThat(wire.sets().subList(main.sets().size(), wire.sets().size())).extracting(CompiledSet::getHash).doesNotHaveDuplicates();
    }

    private static long size(CompiledPolicyWire.Wire wire) {
        java.util.Set<String> counted = new java.util.HashSet<>();
        long sets = wire.sets().stream().filter(set -> counted.add(set.getHash())).mapToLong(CompiledSet::getSerializedSize).sum();
        return wire.policy().getSerializedSize() + wire.scheduled().stream().mapToLong(ScheduledPolicy::getSerializedSize).sum() + sets;
    }

    @Test
    void aScheduleStopsBeforeTheStepThatWouldTakeTheUpdatePastTheBudgetAndCompilesNoFurther() {
        PolicyDocument document = expiring(40);
        PlatformRules platform = PlatformRules.NONE;
        var main = PolicyCompiler.compile(document, platform, CountryRanges.NONE, NOW);
        var schedule = PolicyCompiler.schedule(document, platform, CountryRanges.NONE, NOW, 64, NOW.plusSeconds(7 * 86400));
        CompiledPolicyWire.Wire whole = CompiledPolicyWire.toWire(main, schedule.stream(), Long.MAX_VALUE);
        CompiledPolicyWire.Wire five = new CompiledPolicyWire.Wire(whole.policy(), whole.scheduled().subList(0, 5),
                whole.sets().subList(0, main.sets().size() + 10));
        java.util.concurrent.atomic.AtomicInteger compiled = new java.util.concurrent.atomic.AtomicInteger();

        CompiledPolicyWire.Wire cut = CompiledPolicyWire.toWire(main,
                PolicyCompiler.upcoming(document, platform, CountryRanges.NONE, NOW, NOW.plusSeconds(7 * 86400)).peek(step -> compiled.incrementAndGet()),
                size(five));

        assertThat(whole.scheduled()).hasSize(40);
        assertThat(cut).isEqualTo(five);
        assertThat(compiled).as("steps compiled: the five taken and the one that did not fit").hasValue(6);
        assertThat(cut.scheduled().getLast().getPolicy().getValidUntilEpochMillis()).as("the agent sees where the schedule ends")
                .isEqualTo(whole.scheduled().get(5).getEffectiveFromEpochMillis());
        assertThat(CompiledPolicyWire.toWire(main, schedule.stream(), size(five) - 1).scheduled()).hasSize(4);
        assertThat(CompiledPolicyWire.toWire(main, schedule.stream(), size(CompiledPolicyWire.toWire(main))).scheduled()).isEmpty();
    }

    private static CompiledSet set(CompiledPolicyWire.Wire wire, String name) {
        return wire.sets().stream().filter(s -> s.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no set " + name + " in " + wire.sets().stream().map(CompiledSet::getName).toList()));
    }
}
