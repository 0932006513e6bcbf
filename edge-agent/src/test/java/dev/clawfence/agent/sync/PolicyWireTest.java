package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.PolicyCompiler;
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
