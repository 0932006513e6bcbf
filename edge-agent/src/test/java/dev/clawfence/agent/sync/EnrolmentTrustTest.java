package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.junit.jupiter.api.Test;

/** The enrolment token's pin is the only trust: a server is accepted only with a valid chain to the pinned CA. */
class EnrolmentTrustTest {

    private final TestCa ca;
    private final TestCa rogue;
    private final KeyPair serverKeys;

    EnrolmentTrustTest() throws Exception {
        ca = new TestCa("Clawfence test CA");
        rogue = new TestCa("Clawfence test CA");
        serverKeys = KeyMaterial.generate();
    }

    private static String token(X509Certificate ca) throws Exception {
        return "cfe1.s3cret-Part_1." + Base64.getUrlEncoder().withoutPadding().encodeToString(EnrolmentToken.pinOf(ca.getEncoded()));
    }

    @Test
    void aTokenParsesAndHidesItsSecret() throws Exception {
        String text = token(ca.certificate);
        EnrolmentToken token = EnrolmentToken.parse(text);

        assertThat(token.secret()).isEqualTo("s3cret-Part_1");
        assertThat(token.text()).isEqualTo(text);
        assertThat(token.toString()).doesNotContain("s3cret");
        assertThatThrownBy(() -> EnrolmentToken.parse("cfe1.only-secret")).hasMessageNotContaining("only-secret");
        assertThatThrownBy(() -> EnrolmentToken.parse("cfe2.a." + "A".repeat(43))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aChainToThePinnedCaIsAccepted() throws Exception {
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.parse(token(ca.certificate)).caPin());
        X509Certificate server = ca.issue("cp.example.com", serverKeys, Instant.now().plus(Duration.ofDays(1)));

        assertThat(trust.verify(new X509Certificate[] {server, ca.certificate})).isEqualTo(ca.certificate);
    }

    @Test
    void aChainToAnotherCaWithTheSameNameIsRefused() throws Exception {
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.parse(token(ca.certificate)).caPin());
        X509Certificate forged = rogue.issue("cp.example.com", serverKeys, Instant.now().plus(Duration.ofDays(1)));

        assertThatThrownBy(() -> trust.verify(new X509Certificate[] {forged, rogue.certificate}))
                .isInstanceOf(CertificateException.class).hasMessageContaining("does not contain the CA pinned");
        // The real CA appended to a forged leaf does not help: the signature does not verify.
        assertThatThrownBy(() -> trust.verify(new X509Certificate[] {forged, ca.certificate}))
                .isInstanceOf(CertificateException.class).hasMessageContaining("does not chain to the pinned CA");
    }

    @Test
    void anExpiredServerCertificateIsRefused() throws Exception {
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.parse(token(ca.certificate)).caPin());
        X509Certificate expired = ca.issue("cp.example.com", serverKeys, Instant.now().minus(Duration.ofMinutes(1)));

        assertThatThrownBy(() -> trust.verify(new X509Certificate[] {expired, ca.certificate})).isInstanceOf(CertificateException.class);
    }

    @Test
    void theCaAloneIsNotAServer() throws Exception {
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.parse(token(ca.certificate)).caPin());

        assertThatThrownBy(() -> trust.verify(new X509Certificate[] {ca.certificate})).isInstanceOf(CertificateException.class);
        assertThatThrownBy(() -> trust.verify(new X509Certificate[0])).isInstanceOf(CertificateException.class);
    }

    @Test
    void theServerCertificateMustNameTheHost() throws Exception {
        X509Certificate dns = ca.issue("cp.example.com", serverKeys, Instant.now().plus(Duration.ofDays(1)));
        X509Certificate ip = ca.issue("203.0.113.1", serverKeys, Instant.now().plus(Duration.ofDays(1)));

        PinnedTrust.checkHost(dns, "CP.example.com");
        PinnedTrust.checkHost(ip, "203.0.113.1");
        assertThatThrownBy(() -> PinnedTrust.checkHost(dns, "evil.example.com")).hasMessageContaining("not for evil.example.com");
        assertThatThrownBy(() -> PinnedTrust.checkHost(ip, "203.0.113.2")).isInstanceOf(CertificateException.class);
        assertThatThrownBy(() -> PinnedTrust.checkHost(dns, null)).isInstanceOf(CertificateException.class);
        assertThatThrownBy(() -> new PinnedTrust(EnrolmentToken.pinOf(ca.certificate.getEncoded()))
                .checkServerTrusted(new X509Certificate[] {dns, ca.certificate}, "EC")).hasMessageContaining("host name is unknown");
    }

    @Test
    void theCsrCarriesTheAgentsPublicKeyAndIsSignedWithIt() throws Exception {
        KeyPair keys = KeyMaterial.generate();

        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(KeyMaterial.csr(keys));

        assertThat(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(keys.getPublic()))).isTrue();
        assertThat(csr.getSubjectPublicKeyInfo().getEncoded()).isEqualTo(keys.getPublic().getEncoded());
    }
}
