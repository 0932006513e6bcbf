package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.policy.compile.ScheduledPolicy;
import dev.clawfence.policy.render.NftRenderer;
import dev.clawfence.policy.render.RandomPolicies;
import dev.clawfence.proto.agent.v1.AddressRange;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** A compiled policy survives the trip to the wire and back unchanged, and a set that fails its hash is refused. */
class PolicyWireTest {

    @Provide
    Arbitrary<PolicyDocument> policies() {
        return RandomPolicies.policies();
    }

    private static CompiledPolicy compile(PolicyDocument policy) {
        return PolicyCompiler.compile(policy, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, RandomPolicies.NOW.minus(Duration.ofHours(1)));
    }

    @Property(tries = 300)
    void aRandomPolicyRoundTrips(@ForAll("policies") PolicyDocument policy) throws WireException {
        CompiledPolicy compiled = compile(policy);
        PolicyUpdate wire = PolicyWire.toWire(7, compiled);
        PolicyUpdate reparsed = parse(wire.toByteArray());

        CompiledPolicy back = PolicyWire.toDomain(reparsed);

        assertThat(back).isEqualTo(compiled);
        assertThat(NftRenderer.render(back)).isEqualTo(NftRenderer.render(compiled));
        assertThat(reparsed.getVersion()).isEqualTo(7);
    }

    @Property(tries = 100)
    void setsTheAgentHoldsNeedNotBeSentAgain(@ForAll("policies") PolicyDocument policy) throws WireException {
        CompiledPolicy compiled = compile(policy);
        PolicyUpdate complete = PolicyWire.toWire(3, compiled);
        Map<String, CompiledSet> held = complete.getSetsList().stream().collect(Collectors.toMap(CompiledSet::getHash, Function.identity()));
        PolicyUpdate bare = complete.toBuilder().clearSets().build();

        CompiledPolicy back = PolicyWire.toDomain(bare, hash -> Optional.ofNullable(held.get(hash)));

        assertThat(back).isEqualTo(compiled);
        assertThat(PolicyWire.complete(bare, hash -> Optional.ofNullable(held.get(hash)))).isEqualTo(complete);
    }

    private static java.util.List<ScheduledPolicy> schedule(PolicyDocument policy) {
        return PolicyCompiler.schedule(policy, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, RandomPolicies.NOW.minus(Duration.ofHours(1)),
                64, RandomPolicies.NOW.plus(Duration.ofDays(7)));
    }

    @Property(tries = 200)
    void aScheduleRoundTripsAndEachStepTakesOverAtItsInstant(@ForAll("policies") PolicyDocument policy) throws WireException {
        CompiledPolicy compiled = compile(policy);
        java.util.List<ScheduledPolicy> schedule = schedule(policy);
        PolicyUpdate wire = parse(PolicyWire.toWire(4, compiled, schedule).toByteArray());

        PolicyUpdate complete = PolicyWire.complete(wire, hash -> Optional.empty());

        assertThat(complete).isEqualTo(wire);
        assertThat(PolicyWire.toDomain(complete)).isEqualTo(compiled);
        assertThat(PolicyWire.schedule(complete)).isEqualTo(schedule);
        assertThat(complete.getSetsList()).extracting(CompiledSet::getHash).doesNotHaveDuplicates();
        assertThat(PolicyWire.effectiveAt(complete, RandomPolicies.NOW.minus(Duration.ofHours(1)))).isSameAs(complete);
        for (int i = 0; i < schedule.size(); i++) {
            ScheduledPolicy step = schedule.get(i);
            PolicyUpdate atStep = PolicyWire.complete(PolicyWire.effectiveAt(complete, step.effectiveFrom()), hash -> Optional.empty());
            assertThat(PolicyWire.toDomain(atStep)).isEqualTo(step.policy());
            assertThat(PolicyWire.schedule(atStep)).isEqualTo(schedule.subList(i + 1, schedule.size()));
            assertThat(PolicyWire.toDomain(PolicyWire.complete(PolicyWire.effectiveAt(complete, step.effectiveFrom().minusMillis(1)), hash -> Optional.empty())))
                    .isEqualTo(i == 0 ? compiled : schedule.get(i - 1).policy());
        }
    }

    /** A policy with entries lapsing one and two hours after it was compiled. */
    private static PolicyUpdate scheduled() {
        Map<String, java.time.Instant> allowlist = new java.util.LinkedHashMap<>();
        allowlist.put("203.0.113.2/32", RandomPolicies.NOW.plus(Duration.ofHours(1)));
        allowlist.put("203.0.113.66/32", RandomPolicies.NOW.plus(Duration.ofHours(2)));
        allowlist.put("198.51.100.0/24", null);
        PolicyUpdate update = dev.clawfence.agent.TestPolicies.scheduled(2, dev.clawfence.agent.TestPolicies.expiring(allowlist), RandomPolicies.NOW);
        assertThat(update.getScheduledCount()).isEqualTo(2);
        return update;
    }

    @Test
    void aScheduleOutOfOrderIsRefusedByField() {
        PolicyUpdate wire = scheduled();
        PolicyUpdate swapped = wire.toBuilder().setScheduled(0, wire.getScheduled(1)).setScheduled(1, wire.getScheduled(0)).build();

        assertThatThrownBy(() -> PolicyWire.complete(swapped, hash -> Optional.empty())).isInstanceOf(WireException.class)
                .hasMessageContaining("policy_update.scheduled[1].effective_from_epoch_millis").hasMessageContaining("after the previous step");
    }

    @Test
    void aForgedSetOfAScheduledStepFailsTheUpdateOnArrival() throws WireException {
        PolicyUpdate wire = scheduled();
        java.util.Set<String> mainHashes = wire.getPolicy().getSetsList().stream().map(dev.clawfence.proto.agent.v1.SetRef::getHash)
                .collect(Collectors.toSet());
        int index = -1;
        for (int i = 0; i < wire.getSetsCount(); i++) {
            if (!mainHashes.contains(wire.getSets(i).getHash()) && wire.getSets(i).getType() == CompiledSet.Type.IPV4_ADDRESSES) {
                index = i;
            }
        }
        assertThat(index).as("a step changes allow4_addrs").isNotNegative();
        CompiledSet forged = wire.getSets(index).toBuilder()
                .addAddresses(AddressRange.newBuilder().setFirst(bytes(192, 0, 2, 200)).setLast(bytes(192, 0, 2, 201))).build();
        PolicyUpdate tampered = wire.toBuilder().setSets(index, forged).build();

        assertThat(PolicyWire.toDomain(tampered)).isNotNull();
        assertThatThrownBy(() -> PolicyWire.complete(tampered, hash -> Optional.empty())).isInstanceOf(WireException.class)
                .hasMessageContaining("policy_update.scheduled[").hasMessageContaining("does not match its hash");
    }

    @Test
    void aSetWhoseContentDoesNotMatchItsHashIsRefused() {
        PolicyUpdate wire = PolicyWire.toWire(1, compile(dev.clawfence.policy.render.RandomPolicies.policies().sample()));
        int index = indexOf(wire, "IPV4_ADDRESSES");
        CompiledSet forged = wire.getSets(index).toBuilder()
                .addAddresses(AddressRange.newBuilder().setFirst(bytes(198, 51, 100, 0)).setLast(bytes(198, 51, 100, 255)))
                .build();
        PolicyUpdate tampered = wire.toBuilder().setSets(index, forged).build();

        assertThatThrownBy(() -> PolicyWire.toDomain(tampered)).isInstanceOf(WireException.class).hasMessageContaining("does not match its hash");
    }

    @Test
    void aMissingSetIsNamed() {
        PolicyUpdate wire = PolicyWire.toWire(1, compile(RandomPolicies.policies().sample()));
        PolicyUpdate bare = wire.toBuilder().clearSets().build();

        assertThatThrownBy(() -> PolicyWire.toDomain(bare, hash -> Optional.empty()))
                .isInstanceOf(WireException.class).hasMessageContaining("set mgmt4").hasMessageContaining("neither in the update");
    }

    @Test
    void anAddressOfTheWrongLengthIsRefused() {
        PolicyUpdate wire = PolicyWire.toWire(1, compile(RandomPolicies.policies().sample()));
        int index = indexOf(wire, "IPV4_ADDRESSES");
        CompiledSet bad = wire.getSets(index).toBuilder().clearAddresses()
                .addAddresses(AddressRange.newBuilder().setFirst(ByteString.copyFrom(new byte[5])).setLast(ByteString.copyFrom(new byte[5])))
                .build();

        assertThatThrownBy(() -> PolicyWire.set(bad, "mgmt4")).isInstanceOf(WireException.class).hasMessageContaining("4 bytes");
    }

    private static int indexOf(PolicyUpdate wire, String type) {
        for (int i = 0; i < wire.getSetsCount(); i++) {
            if (wire.getSets(i).getType().name().equals(type)) {
                return i;
            }
        }
        throw new AssertionError("no set of type " + type);
    }

    private static ByteString bytes(int... octets) {
        byte[] out = new byte[octets.length];
        for (int i = 0; i < octets.length; i++) {
            out[i] = (byte) octets[i];
        }
        return ByteString.copyFrom(out);
    }

    private static PolicyUpdate parse(byte[] bytes) {
        try {
            return PolicyUpdate.parseFrom(bytes);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
