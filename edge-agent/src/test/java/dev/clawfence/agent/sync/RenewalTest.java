package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.RenewRequest;
import dev.clawfence.proto.agent.v1.RenewResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One renewal attempt against a scripted Renew (in-process gRPC; mutual TLS is covered by RenewalIT),
 * and the renewal schedule.
 */
class RenewalTest {

    private static final Instant ISSUED = Instant.parse("2026-11-24T10:00:00Z");

    @TempDir
    Path state;

    private final List<String> logged = new CopyOnWriteArrayList<>();
    private final List<Identity> renewed = new CopyOnWriteArrayList<>();
    private final List<String> failing = new CopyOnWriteArrayList<>();
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void stop() {
        if (channel != null) {
            channel.shutdownNow();
            server.shutdownNow();
        }
    }

    @ParameterizedTest
    @CsvSource({"-1, 61.667", "0, 66.667", "1, 71.667", "0.5, 69.167"})
    void renewalComesAtTwoThirdsOfTheValidityGiveOrTakeFivePercent(double jitter, double percent) {
        Instant notAfter = ISSUED.plus(Duration.ofDays(30));

        Instant at = Renewal.renewAt(ISSUED, notAfter, jitter);

        double share = 100.0 * Duration.between(ISSUED, at).toMillis() / Duration.ofDays(30).toMillis();
        assertThat(share).isCloseTo(percent, org.assertj.core.data.Offset.offset(0.001));
    }

    @ParameterizedTest
    @CsvSource({
        "P30D, 1, PT1M", "P30D, 2, PT2M", "P30D, 6, PT32M", "P30D, 7, PT1H", "P30D, 40, PT1H",
        "PT15S, 1, PT1S", "PT15S, 5, PT1S",
        "P1D, 1, PT1M", "P1D, 2, PT2M", "P1D, 6, PT28M48S",
    })
    void failedAttemptsBackOffWithTheLifetime(Duration lifetime, int failures, Duration expected) {
        assertThat(Renewal.retryDelay(lifetime, failures)).isEqualTo(expected);
    }

    private TestCa ca;

    private Identity enrolled(Instant notBefore, Instant notAfter) throws Exception {
        ca = new TestCa("Clawfence test CA");
        KeyPair keys = KeyMaterial.generate();
        X509Certificate certificate = ca.issue("instance-1", keys.getPublic(), notBefore, notAfter);
        return new Identity("127.0.0.1:1", UUID.randomUUID().toString(), UUID.randomUUID().toString(), keys.getPrivate().getEncoded(),
                List.of(certificate.getEncoded(), ca.certificate.getEncoded()));
    }

    /** A Renew that answers each CSR's public key with {@code answer}. */
    private void renewAnswers(Function<PublicKey, Object> answer) throws Exception {
        String name = UUID.randomUUID().toString();
        server = InProcessServerBuilder.forName(name).addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
            @Override
            public void renew(RenewRequest request, StreamObserver<RenewResponse> response) {
                try {
                    PublicKey key = new JcaPEMKeyConverter().getPublicKey(new PKCS10CertificationRequest(request.getCsrDer().toByteArray()).getSubjectPublicKeyInfo());
                    Object result = answer.apply(key);
                    if (result instanceof Status status) {
                        response.onError(status.asRuntimeException());
                        return;
                    }
                    response.onNext(RenewResponse.newBuilder()
                            .addCertificateChainDer(ByteString.copyFrom(((X509Certificate) result).getEncoded()))
                            .addCertificateChainDer(ByteString.copyFrom(ca.certificate.getEncoded()))
                            .build());
                    response.onCompleted();
                } catch (Exception e) {
                    response.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    private X509Certificate issue(String host, PublicKey key) {
        try {
            return ca.issue(host, key, Instant.now().minusSeconds(1), Instant.now().plus(Duration.ofDays(30)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Renewal renewal(Identity identity, Clock clock) throws java.io.IOException {
        return new Renewal(identity, channel, new Store(state), clock, new Random(7), new Renewal.Listener() {
            @Override
            public void renewed(Identity next) {
                renewed.add(next);
            }

            @Override
            public void failing(String problem) {
                failing.add(problem);
            }
        }, logged::add);
    }

    @Test
    void aRenewalStoresANewKeyAndCertificateForTheSameInstanceAndHandsThemOn() throws Exception {
        Instant now = Instant.now();
        Identity identity = enrolled(now.minus(Duration.ofDays(20)), now.plus(Duration.ofDays(10)));
        new Store(state).saveIdentity(identity);
        renewAnswers(key -> issue("instance-1", key));

        Instant next = renewal(identity, Clock.systemUTC()).attempt();

        Identity stored = new Store(state).identity().value().orElseThrow();
        assertThat(renewed).singleElement().extracting(Identity::encode).isEqualTo(stored.encode());
        assertThat(stored.instanceId()).isEqualTo(identity.instanceId());
        assertThat(stored.server()).isEqualTo(identity.server());
        assertThat(stored.privateKeyPkcs8()).isNotEqualTo(identity.privateKeyPkcs8());
        assertThat(stored.certificate().getSerialNumber()).isNotEqualTo(identity.certificate().getSerialNumber());
        java.security.Signature signer = java.security.Signature.getInstance("SHA256withECDSA");
        signer.initSign(stored.privateKey());
        signer.update(new byte[] {1, 2, 3});
        java.security.Signature verifier = java.security.Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(stored.certificate().getPublicKey());
        verifier.update(new byte[] {1, 2, 3});
        assertThat(verifier.verify(signer.sign())).as("the stored key is the certified one").isTrue();
        // The next renewal counts from now, at 2/3 of the new 30 days, give or take 5 %.
        assertThat(Duration.between(now, next)).isBetween(Duration.ofHours(444), Duration.ofHours(517));
        assertThat(logged).singleElement().asString().startsWith("certificate renewed: serial ");
        assertThat(failing).isEmpty();
    }

    @Test
    void aCertificateForAnotherKeyOrAnotherSubjectIsNotStored() throws Exception {
        Instant now = Instant.now();
        Identity identity = enrolled(now.minus(Duration.ofDays(20)), now.plus(Duration.ofDays(10)));
        new Store(state).saveIdentity(identity);
        KeyPair other = KeyMaterial.generate();
        renewAnswers(key -> issue("instance-1", other.getPublic()));

        Instant next = renewal(identity, Clock.systemUTC()).attempt();

        assertThat(renewed).isEmpty();
        assertThat(new Store(state).identity().value().orElseThrow().encode()).isEqualTo(identity.encode());
        assertThat(failing).singleElement().asString().startsWith("certificate renewal failed: the control plane's certificate is not for the agent's key; retrying at ");
        assertThat(Duration.between(now, next)).isBetween(Duration.ofSeconds(60), Duration.ofSeconds(60).plus(Duration.between(now, Instant.now())));

        renewAnswers(key -> issue("instance-2", key));
        renewal(identity, Clock.systemUTC()).attempt();
        assertThat(failing.getLast()).startsWith("certificate renewal failed: the renewed certificate names CN=instance-2, not CN=instance-1");
        assertThat(renewed).isEmpty();
    }

    @Test
    void aRefusalIsAnErrorAndAnExpiredCertificateAsksForReEnrolment() throws Exception {
        Instant now = Instant.now();
        Identity identity = enrolled(now.minus(Duration.ofDays(20)), now.plus(Duration.ofDays(10)));
        renewAnswers(key -> Status.PERMISSION_DENIED.withDescription("instance i-1 has been revoked; enrol the host again with a new token"));

        renewal(identity, Clock.systemUTC()).attempt();

        assertThat(logged).singleElement().asString().startsWith("error: the control plane refused to renew the certificate: "
                + "PERMISSION_DENIED: instance i-1 has been revoked; enrol the host again with a new token; retrying at ");

        Clock afterExpiry = Clock.fixed(now.plus(Duration.ofDays(11)), ZoneOffset.UTC);
        renewAnswers(key -> Status.UNAVAILABLE.withDescription("handshake failed"));
        Instant next = renewal(identity, afterExpiry).attempt();

        assertThat(logged.getLast()).startsWith("error: the agent's certificate expired at " + identity.certificate().getNotAfter().toInstant()
                + " (certificate renewal failed: UNAVAILABLE: handshake failed): the control plane will not accept this host until it is enrolled again");
        assertThat(Duration.between(afterExpiry.instant(), next)).as("retries go on, at the longest interval").isEqualTo(Duration.ofHours(1));
        assertThat(renewed).isEmpty();
    }
}
