package dev.clawfence.agent.sync;

import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Enrols the agent once: generates a key pair on the host, sends the enrolment token and a PKCS#10
 * request to the control plane's {@code Enroll} over TLS, trusting the server only through the CA pinned
 * in the token ({@link PinnedTrust}, JDK TLS with host-name verification; verification cannot be turned
 * off), and checks that the returned chain certifies the agent's own key and leads to the pinned CA.
 */
public final class EnrolmentClient {

    private EnrolmentClient() {}

    public static Identity enroll(String server, EnrolmentToken token, String hostname, String agentVersion, Duration timeout)
            throws EnrolmentException {
        KeyPair keys;
        byte[] csr;
        try {
            keys = KeyMaterial.generate();
            csr = KeyMaterial.csr(keys);
        } catch (GeneralSecurityException | IOException e) {
            throw new EnrolmentException("cannot create the agent's key pair: " + e.getMessage(), e);
        }
        PinnedTrust trust = new PinnedTrust(token.caPin());
        ManagedChannel channel = ControlPlaneChannel.channel(server, TlsChannelCredentials.newBuilder().trustManager(trust).build());
        try {
            EnrollResponse response = AgentGatewayGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .enroll(EnrollRequest.newBuilder()
                            .setToken(token.text())
                            .setCsrDer(ByteString.copyFrom(csr))
                            .setHostname(hostname)
                            .setAgentVersion(agentVersion)
                            .build());
            List<byte[]> chain = response.getCertificateChainDerList().stream().map(ByteString::toByteArray).toList();
            check(chain, keys, trust);
            return new Identity(server, response.getInstanceId(), response.getTenantId(), keys.getPrivate().getEncoded(), chain);
        } catch (StatusRuntimeException e) {
            throw new EnrolmentException("enrolment with " + server + " failed: " + describe(e.getStatus()), e);
        } finally {
            channel.shutdownNow();
        }
    }

    /** Checks that {@code chainDer} certifies {@code keys} and leads to the CA {@code trust} pins (enrolment and renewal). */
    static void check(List<byte[]> chainDer, KeyPair keys, PinnedTrust trust) throws EnrolmentException {
        if (chainDer.isEmpty()) {
            throw new EnrolmentException("the control plane returned no certificate");
        }
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            List<X509Certificate> chain = new ArrayList<>();
            for (byte[] der : chainDer) {
                chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            }
            if (!Arrays.equals(chain.getFirst().getPublicKey().getEncoded(), keys.getPublic().getEncoded())) {
                throw new EnrolmentException("the control plane's certificate is not for the agent's key");
            }
            trust.verify(chain.toArray(X509Certificate[]::new));
        } catch (CertificateException e) {
            throw new EnrolmentException("the agent's certificate does not chain to the pinned CA: " + e.getMessage(), e);
        }
    }

    /** The status in one line; a TLS failure names its cause (e.g. the pin did not match). */
    static String describe(Status status) {
        for (Throwable cause = status.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof CertificateException) {
                return "the server is not trusted: " + cause.getMessage();
            }
        }
        String text = status.getCode().name() + (status.getDescription() == null ? "" : ": " + status.getDescription());
        return text.replaceAll("\\s*\\R\\s*", " ");
    }
}
