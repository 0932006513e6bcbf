package dev.clawfence.controlplane.agents;

import com.google.common.collect.MapMaker;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ControlMessage;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ConcurrentMap;

/**
 * The Sync method's response marshaller: a {@link ControlMessage} {@linkplain #share shared} with it goes to
 * every stream as the bytes encoded when it was shared; any other message is encoded as usual. After a save,
 * one update message goes to 10,000 streams: encoding it once instead of per stream took the protobuf
 * serialization of the same bytes out of the fan-out loop. The streams keep the generated types
 * ({@code StreamObserver<ControlMessage>}): only the gateway's binding of Sync ({@link #bind}) knows.
 */
@Singleton
public final class EncodedOnce implements MethodDescriptor.Marshaller<ControlMessage> {

    private final MethodDescriptor.Marshaller<ControlMessage> protobuf =
            ProtoUtils.marshaller(ControlMessage.getDefaultInstance());
    /**
     * By identity, held weakly: a shared message lives as long as the session factory's cache or a stream
     * still holds it (a held version, a write in flight), and its bytes go with it.
     */
    private final ConcurrentMap<ControlMessage, byte[]> encoded = new MapMaker().weakKeys().makeMap();

    /** Encodes {@code message} now, once, for every stream it will go to; returns it. */
    ControlMessage share(ControlMessage message) {
        encoded.computeIfAbsent(message, ControlMessage::toByteArray);
        return message;
    }

    /** Whether {@code message} goes out as bytes encoded once (for tests). */
    boolean isShared(ControlMessage message) {
        return encoded.containsKey(message);
    }

    @Override
    public InputStream stream(ControlMessage message) {
        byte[] bytes = encoded.get(message);
        return bytes == null ? protobuf.stream(message) : new Encoded(bytes);
    }

    @Override
    public ControlMessage parse(InputStream stream) {
        return protobuf.parse(stream);
    }

    /**
     * {@code gateway} (the generated AgentGateway binding, possibly intercepted) with Sync's responses
     * written through this marshaller; every other method, and the handlers, as they were.
     */
    ServerServiceDefinition bind(ServerServiceDefinition gateway) {
        MethodDescriptor<AgentMessage, ControlMessage> generated = AgentGatewayGrpc.getSyncMethod();
        MethodDescriptor<AgentMessage, ControlMessage> sync = generated.toBuilder().setResponseMarshaller(this).build();
        ServiceDescriptor original = gateway.getServiceDescriptor();
        // A service definition insists that its methods are the very instances its descriptor lists.
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        for (MethodDescriptor<?, ?> method : original.getMethods()) {
            descriptor.addMethod(method.getFullMethodName().equals(sync.getFullMethodName()) ? sync : method);
        }
        ServerServiceDefinition.Builder bound = ServerServiceDefinition.builder(descriptor.build());
        for (ServerMethodDefinition<?, ?> method : gateway.getMethods()) {
            if (method.getMethodDescriptor().getFullMethodName().equals(sync.getFullMethodName())) {
                @SuppressWarnings("unchecked")
                ServerMethodDefinition<AgentMessage, ControlMessage> handler =
                        (ServerMethodDefinition<AgentMessage, ControlMessage>) method;
                bound.addMethod(ServerMethodDefinition.create(sync, handler.getServerCallHandler()));
            } else {
                bound.addMethod(method);
            }
        }
        return bound.build();
    }

    /**
     * Already-encoded bytes as gRPC's framer takes them best: it reads the length up front
     * ({@link KnownLength}) and has the bytes written into its buffer in one call ({@link Drainable}),
     * as protobuf's own marshaller streams a message.
     */
    private static final class Encoded extends ByteArrayInputStream implements KnownLength, Drainable {
        Encoded(byte[] bytes) {
            super(bytes);
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int length = count - pos;
            target.write(buf, pos, length);
            pos = count;
            return length;
        }
    }
}
