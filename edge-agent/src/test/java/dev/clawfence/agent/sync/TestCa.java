package dev.clawfence.agent.sync;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throw-away certificate authority for tests: a self-signed CA that issues server certificates. */
final class TestCa {

    private static final AtomicLong SERIAL = new AtomicLong(1);

    final KeyPair keys;
    final X509Certificate certificate;

    TestCa(String name) throws Exception {
        keys = KeyMaterial.generate();
        certificate = sign(new X500Name("CN=" + name), keys.getPublic(), new X500Name("CN=" + name), keys, true, null, Instant.now().plus(Duration.ofDays(1)));
    }

    private TestCa(KeyPair keys, X509Certificate certificate) {
        this.keys = keys;
        this.certificate = certificate;
    }

    /** Writes the CA (certificate and keys, DER) to {@code dir} for a process that issues with it. */
    void save(Path dir) throws Exception {
        Files.write(dir.resolve("ca.der"), certificate.getEncoded());
        Files.write(dir.resolve("ca.key"), keys.getPrivate().getEncoded());
        Files.write(dir.resolve("ca.pub"), keys.getPublic().getEncoded());
    }

    static TestCa load(Path dir) throws Exception {
        KeyFactory factory = KeyFactory.getInstance("EC");
        KeyPair keys = new KeyPair(factory.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(dir.resolve("ca.pub")))),
                factory.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(dir.resolve("ca.key")))));
        X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("ca.der"))));
        return new TestCa(keys, certificate);
    }

    /** A certificate for {@code host} (a DNS name or an IP address) issued by this CA, valid until {@code notAfter}. */
    X509Certificate issue(String host, KeyPair subject, Instant notAfter) throws Exception {
        return issue(host, subject.getPublic(), notAfter);
    }

    X509Certificate issue(String host, PublicKey subject, Instant notAfter) throws Exception {
        return issue(host, subject, Instant.now().minus(Duration.ofHours(1)), notAfter);
    }

    /** A certificate valid from {@code notBefore} to {@code notAfter}, for short-lived certificates that renew. */
    X509Certificate issue(String host, PublicKey subject, Instant notBefore, Instant notAfter) throws Exception {
        return sign(new X500Name("CN=" + host), subject, new X500Name(certificate.getSubjectX500Principal().getName()), keys, false, host, notBefore, notAfter);
    }

    private static X509Certificate sign(X500Name subject, PublicKey subjectKey, X500Name issuer, KeyPair issuerKeys, boolean ca, String host,
            Instant notAfter) throws Exception {
        return sign(subject, subjectKey, issuer, issuerKeys, ca, host, Instant.now().minus(Duration.ofHours(1)), notAfter);
    }

    private static X509Certificate sign(X500Name subject, PublicKey subjectKey, X500Name issuer, KeyPair issuerKeys, boolean ca, String host,
            Instant notBefore, Instant notAfter) throws Exception {
        // Random serials: certificates of different gateway processes must not share one.
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, new java.security.SecureRandom()).add(BigInteger.valueOf(SERIAL.getAndIncrement())),
                Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (host != null) {
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(
                    host.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, host)));
        }
        return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
