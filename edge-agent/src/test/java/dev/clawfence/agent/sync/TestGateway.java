package dev.clawfence.agent.sync;

import com.google.protobuf.ByteString;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.Pong;
import dev.clawfence.proto.agent.v1.RenewRequest;
import dev.clawfence.proto.agent.v1.RenewResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import java.nio.file.Files;
import javax.net.ssl.SSLSession;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * A stand-in for the control plane's Enroll, run by {@code EnrolmentIT} inside a network namespace:
 * {@code TestGateway CA_DIR ADDRESS PORT SECRET [CERT_HOST]} serves TLS with a certificate for
 * {@code CERT_HOST} (default ADDRESS) issued by the CA in {@code CA_DIR}, sends its CA in the chain,
 * accepts only the token secret {@code SECRET} and signs the agent's CSR; Sync needs the client
 * certificate so issued, and so does Renew, which issues a certificate for the new key. Port 0 picks a
 * free port, printed as {@code PORT n}. {@code -Dcf.certLifetime=PT15S} sets how long agent
 * certificates live (default a day); while the file {@code -Dcf.revokedFile=FILE} exists the instance
 * counts as revoked: Sync and Renew are refused as the control plane refuses them. Prints {@code READY}.
 */
public final class TestGateway extends AgentGatewayGrpc.AgentGatewayImplBase {

    private static final Context.Key<SSLSession> SESSION = Context.key("ssl-session");

    private final TestCa ca;
    private final String secret;
    private final PolicyUpdate policy;
    private final Duration certLifetime = Duration.parse(System.getProperty("cf.certLifetime", "P1D"));
    private final Path revokedFile = System.getProperty("cf.revokedFile") == null ? null : Path.of(System.getProperty("cf.revokedFile"));

    private TestGateway(TestCa ca, String secret, PolicyUpdate policy) {
        this.ca = ca;
        this.secret = secret;
        this.policy = policy;
    }

    /** The client certificate of the call, if any. */
    private static X509Certificate peer() {
        SSLSession session = SESSION.get();
        try {
            return session != null && session.getPeerCertificates().length > 0 ? (X509Certificate) session.getPeerCertificates()[0] : null;
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return null;
        }
    }

    private boolean revoked() {
        return revokedFile != null && Files.exists(revokedFile);
    }

    /** A certificate for the agent's key, valid from a second ago for {@code cf.certLifetime}. */
    private X509Certificate agentCertificate(byte[] csrDer) throws Exception {
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(csrDer);
        PublicKey key = new JcaPEMKeyConverter().getPublicKey(csr.getSubjectPublicKeyInfo());
        Instant now = Instant.now();
        return ca.issue("instance-1", key, now.minusSeconds(1), now.plus(certLifetime));
    }

    /** Renew: prints {@code RENEWED serial=HEX notAfter=INSTANT}, or {@code RENEW refused ...}. */
    @Override
    public void renew(RenewRequest request, StreamObserver<RenewResponse> response) {
        X509Certificate peer = peer();
        if (peer == null) {
            print("RENEW refused: no client certificate");
            response.onError(Status.UNAUTHENTICATED.withDescription("this call needs the client certificate issued at enrolment (mutual TLS); enrol first").asRuntimeException());
            return;
        }
        if (revoked()) {
            print("RENEW refused: revoked");
            response.onError(Status.PERMISSION_DENIED.withDescription("instance instance-1 has been revoked; enrol the host again with a new token").asRuntimeException());
            return;
        }
        try {
            X509Certificate certificate = agentCertificate(request.getCsrDer().toByteArray());
            print("RENEWED serial=" + certificate.getSerialNumber().toString(16) + " notAfter=" + certificate.getNotAfter().toInstant()
                    + " by=" + peer.getSerialNumber().toString(16));
            response.onNext(RenewResponse.newBuilder()
                    .addCertificateChainDer(ByteString.copyFrom(certificate.getEncoded()))
                    .addCertificateChainDer(ByteString.copyFrom(ca.certificate.getEncoded()))
                    .build());
            response.onCompleted();
        } catch (Exception e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("bad CSR: " + e.getMessage()).asRuntimeException());
        }
    }

    /** UploadEvents: acknowledges every batch through its last event, as the control plane's store would. */
    @Override
    public StreamObserver<dev.clawfence.proto.agent.v1.EventBatch> uploadEvents(
            StreamObserver<dev.clawfence.proto.agent.v1.EventAck> acks) {
        return new StreamObserver<>() {
            private long mark;

            @Override
            public void onNext(dev.clawfence.proto.agent.v1.EventBatch batch) {
                if (batch.getEventsCount() > 0) {
                    mark = Math.max(mark, batch.getEvents(batch.getEventsCount() - 1).getSequence());
                }
                acks.onNext(dev.clawfence.proto.agent.v1.EventAck.newBuilder().setStoredThroughSequence(mark).build());
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
                acks.onCompleted();
            }
        };
    }

    /**
     * Sync: prints {@code SYNC client-certificate=true|false}, {@code HELLO applied=N}; sends the policy
     * from {@code -Dcf.policy=FILE} after each hello, answers every Ping, prints {@code RESULT OUTCOME VERSION HASH}.
     */
    @Override
    public StreamObserver<AgentMessage> sync(StreamObserver<ControlMessage> responses) {
        SSLSession session = SESSION.get();
        boolean certified;
        try {
            certified = session != null && session.getPeerCertificates().length > 0;
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            certified = false;
        }
        print("SYNC client-certificate=" + certified);
        if (certified) {
            print("SYNC serial=" + peer().getSerialNumber().toString(16));
        }
        if (certified && revoked()) {
            responses.onError(Status.PERMISSION_DENIED.withDescription("instance instance-1 has been revoked; enrol the host again with a new token").asRuntimeException());
            return new StreamObserver<>() {
                public void onNext(AgentMessage message) {}
                public void onError(Throwable t) {}
                public void onCompleted() {}
            };
        }
        if (!certified) {
            responses.onError(Status.UNAUTHENTICATED.withDescription("a client certificate is required").asRuntimeException());
            return new StreamObserver<>() {
                public void onNext(AgentMessage message) {}
                public void onError(Throwable t) {}
                public void onCompleted() {}
            };
        }
        return new StreamObserver<>() {
            @Override
            public void onNext(AgentMessage message) {
                synchronized (responses) {
                    if (message.hasHello()) {
                        print("HELLO applied=" + message.getHello().getAppliedPolicyVersion());
                        if (policy != null) {
                            responses.onNext(ControlMessage.newBuilder().setPolicyUpdate(policy).build());
                        }
                    } else if (message.hasPing()) {
                        responses.onNext(ControlMessage.newBuilder().setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
                    } else if (message.hasApplyResult()) {
                        ApplyResult result = message.getApplyResult();
                        print("RESULT " + result.getOutcome() + " " + result.getPolicyVersion() + " " + result.getRulesetHash() + " " + result.getReason());
                    }
                }
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
                synchronized (responses) {
                    responses.onCompleted();
                }
            }
        };
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        TestCa ca = TestCa.load(Path.of(args[0]));
        String address = args[1];
        int port = Integer.parseInt(args[2]);
        String certHost = args.length > 4 ? args[4] : address;
        KeyPair serverKeys = KeyMaterial.generate();
        X509Certificate serverCertificate = ca.issue(certHost, serverKeys, Instant.now().plus(Duration.ofHours(1)));
        String policyFile = System.getProperty("cf.policy");
        PolicyUpdate policy = policyFile == null ? null : PolicyUpdate.parseFrom(Files.readAllBytes(Path.of(policyFile)));
        ServerInterceptor session = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                Context context = Context.current().withValue(SESSION, call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return Contexts.interceptCall(context, call, headers, next);
            }
        };
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.ofLiteral(address), port))
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(serverKeys.getPrivate(), serverCertificate, ca.certificate), SslProvider.JDK)
                        .trustManager(ca.certificate)
                        .clientAuth(ClientAuth.OPTIONAL)
                        .build())
                .addService(ServerInterceptors.intercept(new TestGateway(ca, args[3], policy), session))
                .build()
                .start();
        System.out.println("PORT " + server.getPort());
        System.out.println("READY");
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until the test ends the process
        }
        server.shutdownNow();
    }

    @Override
    public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> response) {
        if (!request.getToken().startsWith("cfe1." + secret + ".")) {
            response.onError(Status.PERMISSION_DENIED.withDescription("unknown enrolment token").asRuntimeException());
            return;
        }
        try {
            X509Certificate certificate = agentCertificate(request.getCsrDer().toByteArray());
            print("ENROLLED serial=" + certificate.getSerialNumber().toString(16));
            response.onNext(EnrollResponse.newBuilder()
                    .setInstanceId(UUID.nameUUIDFromBytes(request.getHostname().getBytes()).toString())
                    .setTenantId("7d0c7a52-4b0e-4c34-9d36-1f0b7c0e0001")
                    .addCertificateChainDer(ByteString.copyFrom(certificate.getEncoded()))
                    .addCertificateChainDer(ByteString.copyFrom(ca.certificate.getEncoded()))
                    .build());
            response.onCompleted();
        } catch (Exception e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("bad CSR: " + e.getMessage()).asRuntimeException());
        }
    }
}
