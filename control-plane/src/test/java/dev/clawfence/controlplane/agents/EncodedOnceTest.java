package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.CompiledPolicy;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.Pong;
import dev.clawfence.proto.agent.v1.PortRange;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class EncodedOnceTest {

    private final EncodedOnce encoded = new EncodedOnce();

    private static ControlMessage update(long version) {
        return ControlMessage.newBuilder().setPolicyUpdate(PolicyUpdate.newBuilder().setVersion(version)
                .setPolicy(CompiledPolicy.newBuilder().setAllowlistActive(true))
                .addSets(CompiledSet.newBuilder().setName("allow4").setHash("h" + version)
                        .addPorts(PortRange.newBuilder().setFirst(443).setLast(443)))).build();
    }

    private static byte[] drained(InputStream stream) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ((Drainable) stream).drainTo(out);
        return out.toByteArray();
    }

    @Test
    void aSharedMessageGoesOutAsItsBytesWithTheirLengthKnownEveryTime() throws IOException {
        ControlMessage message = encoded.share(update(7));

        for (int stream = 0; stream < 3; stream++) {
            InputStream out = encoded.stream(message);
            // gRPC's framer writes a KnownLength stream without buffering it first.
            assertThat(out).isInstanceOf(KnownLength.class).isInstanceOf(Drainable.class);
            assertThat(out.available()).isEqualTo(message.getSerializedSize());
            assertThat(drained(out)).isEqualTo(message.toByteArray());
            assertThat(out.available()).isZero();
        }
        assertThat(encoded.parse(encoded.stream(message))).isEqualTo(message);
    }

    @Test
    void onlyTheSharedInstanceUsesTheSharedBytesAnotherEqualMessageIsEncodedAsUsual() throws IOException {
        ControlMessage shared = encoded.share(update(7));
        ControlMessage equal = update(7);
        ControlMessage pong = ControlMessage.newBuilder().setPong(Pong.newBuilder().setNonce(3)).build();

        assertThat(encoded.isShared(shared)).isTrue();
        assertThat(encoded.isShared(equal)).isFalse();
        assertThat(encoded.isShared(pong)).isFalse();
        assertThat(encoded.stream(equal).readAllBytes()).isEqualTo(shared.toByteArray());
        assertThat(encoded.parse(encoded.stream(pong))).isEqualTo(pong);
    }

    @Test
    void sharingTheSameMessageAgainKeepsItsFirstEncoding() {
        ControlMessage message = update(9);

        assertThat(encoded.share(message)).isSameAs(message);
        assertThat(encoded.share(message)).isSameAs(message);
        assertThat(encoded.isShared(message)).isTrue();
    }

    @Test
    void bindingChangesOnlySyncsResponseMarshallerAndKeepsEveryHandler() {
        ServerServiceDefinition generated = new AgentGatewayGrpc.AgentGatewayImplBase() {}.bindService();

        ServerServiceDefinition bound = encoded.bind(generated);

        assertThat(bound.getServiceDescriptor().getName()).isEqualTo(generated.getServiceDescriptor().getName());
        assertThat(bound.getMethods()).hasSameSizeAs(generated.getMethods());
        for (ServerMethodDefinition<?, ?> method : generated.getMethods()) {
            String name = method.getMethodDescriptor().getFullMethodName();
            ServerMethodDefinition<?, ?> now = bound.getMethod(name);
            assertThat(now.getServerCallHandler()).as(name).isSameAs(method.getServerCallHandler());
            MethodDescriptor<?, ?> descriptor = now.getMethodDescriptor();
            if (name.equals(AgentGatewayGrpc.getSyncMethod().getFullMethodName())) {
                assertThat(descriptor.getResponseMarshaller()).isSameAs(encoded);
                assertThat(descriptor.getRequestMarshaller()).isSameAs(method.getMethodDescriptor().getRequestMarshaller());
                assertThat(descriptor.getType()).isEqualTo(MethodDescriptor.MethodType.BIDI_STREAMING);
            } else {
                assertThat(descriptor).as(name).isSameAs(method.getMethodDescriptor());
            }
        }
        assertThat(bound.getServiceDescriptor().getMethods())
                .contains(bound.getMethod(AgentGatewayGrpc.getSyncMethod().getFullMethodName()).getMethodDescriptor());
    }
}
