package dev.clawfence.agent.sync;

import com.google.protobuf.ByteString;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import io.grpc.Server;
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
 * accepts only the token secret {@code SECRET} and signs the agent's CSR. Prints {@code READY}.
 */
public final class TestGateway extends AgentGatewayGrpc.AgentGatewayImplBase {

    private final TestCa ca;
    private final String secret;

    private TestGateway(TestCa ca, String secret) {
        this.ca = ca;
        this.secret = secret;
    }

    public static void main(String[] args) throws Exception {
        TestCa ca = TestCa.load(Path.of(args[0]));
        String address = args[1];
        int port = Integer.parseInt(args[2]);
        String certHost = args.length > 4 ? args[4] : address;
        KeyPair serverKeys = KeyMaterial.generate();
        X509Certificate serverCertificate = ca.issue(certHost, serverKeys, Instant.now().plus(Duration.ofHours(1)));
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.ofLiteral(address), port))
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(serverKeys.getPrivate(), serverCertificate, ca.certificate), SslProvider.JDK)
                        .build())
                .addService(new TestGateway(ca, args[3]))
                .build()
                .start();
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
            PKCS10CertificationRequest csr = new PKCS10CertificationRequest(request.getCsrDer().toByteArray());
            PublicKey key = new JcaPEMKeyConverter().getPublicKey(csr.getSubjectPublicKeyInfo());
            X509Certificate certificate = ca.issue("instance-1", key, Instant.now().plus(Duration.ofDays(1)));
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
