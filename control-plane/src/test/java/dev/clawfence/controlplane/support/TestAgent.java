package dev.clawfence.controlplane.support;

import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import dev.clawfence.proto.agent.v1.ProtocolVersion;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A minimal edge agent for tests: its own key pair and CSR, a TLS channel trusting only the control
 * plane's CA (with its client certificate once enrolled), and Sync streams that record what arrives.
 */
public final class TestAgent implements AutoCloseable {

    private final int port;
    private final X509Certificate ca;
    private final KeyPair key = newKeyPair();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private List<X509Certificate> chain;
    private EnrollResponse enrolled;

    public TestAgent(int port, X509Certificate ca) {
        this.port = port;
        this.ca = ca;
    }

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A DER CSR for {@code pair}, signed with it. */
    public static byte[] csr(KeyPair pair) {
        try {
            return new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=ignored"), pair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public byte[] csr() {
        return csr(key);
    }

    /** A stub without a client certificate (for Enroll, or to be refused). */
    public AgentGatewayGrpc.AgentGatewayBlockingStub anonymous() {
        return AgentGatewayGrpc.newBlockingStub(channel(false)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** A blocking stub presenting the enrolled certificate. */
    public AgentGatewayGrpc.AgentGatewayBlockingStub authenticated() {
        return AgentGatewayGrpc.newBlockingStub(channel(true)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** Enrols with {@code token}; the chain is kept for later calls. */
    public EnrollResponse enroll(String token) {
        enrolled = anonymous().enroll(EnrollRequest.newBuilder().setToken(token)
                .setCsrDer(com.google.protobuf.ByteString.copyFrom(csr()))
                .setHostname("host-" + port).setAgentVersion("0.1.0-test").build());
        chain = enrolled.getCertificateChainDerList().stream().map(b -> certificate(b.toByteArray())).toList();
        return enrolled;
    }

    public EnrollResponse enrolled() {
        return enrolled;
    }

    public List<X509Certificate> chain() {
        return chain;
    }

    /** Opens a Sync stream (with the client certificate unless {@code anonymous}) that records what arrives. */
    public Stream sync(boolean anonymous) {
        Stream stream = new Stream();
        stream.requests = AgentGatewayGrpc.newStub(channel(!anonymous)).sync(stream);
        return stream;
    }

    /** Opens an UploadEvents stream with the client certificate; acks go to {@code acks}. */
    public StreamObserver<dev.clawfence.proto.agent.v1.EventBatch> uploadEvents(StreamObserver<dev.clawfence.proto.agent.v1.EventAck> acks) {
        return AgentGatewayGrpc.newStub(channel(true)).uploadEvents(acks);
    }

    /** Opens a Sync stream and says hello with {@code knownSets}. */
    public Stream syncWithHello(List<String> knownSets) {
        Stream stream = sync(false);
        stream.send(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
                .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setAgentVersion("0.1.0-test")
                .putHostFacts("hostname", "web-1")
                .putHostFacts("backend", "nftables")
                .addAllKnownSetHashes(knownSets)).build());
        return stream;
    }

    /** One Sync stream, recording every control message and how it ended. */
    public static final class Stream implements StreamObserver<ControlMessage> {
        public final List<ControlMessage> received = new CopyOnWriteArrayList<>();
        public final AtomicReference<Status> ended = new AtomicReference<>();
        private StreamObserver<AgentMessage> requests;

        public synchronized void send(AgentMessage message) {
            requests.onNext(message);
        }

        public synchronized void complete() {
            requests.onCompleted();
        }

        public List<ControlMessage> policyUpdates() {
            return received.stream().filter(ControlMessage::hasPolicyUpdate).toList();
        }

        @Override
        public void onNext(ControlMessage value) {
            received.add(value);
        }

        @Override
        public void onError(Throwable t) {
            ended.set(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.set(Status.OK);
        }
    }

    private ManagedChannel channel(boolean withCertificate) {
        try {
            SslContextBuilder tls = GrpcSslContexts.forClient().trustManager(ca);
            if (withCertificate) {
                tls.keyManager(key.getPrivate(), chain.toArray(X509Certificate[]::new));
            }
            ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", port).sslContext(tls.build()).build();
            channels.add(channel);
            return channel;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static X509Certificate certificate(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        channels.forEach(c -> {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
