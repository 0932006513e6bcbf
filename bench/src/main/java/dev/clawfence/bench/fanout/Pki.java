package dev.clawfence.bench.fanout;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key pairs, CSRs and certificates for the simulated agents and the reference server (P-256, as the agent uses). */
final class Pki {

    private Pki() {}

    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A DER PKCS#10 request for {@code key}; the control plane ignores the subject and names the instance itself. */
    static byte[] csr(KeyPair key) {
        try {
            return new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=fanout-bench"), key.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException("cannot build a CSR", e);
        }
    }

    /** A self-signed certificate for the reference server, valid for {@code localhost} and 127.0.0.1. */
    static X509Certificate selfSigned(KeyPair key) {
        try {
            Instant now = Instant.now();
            X500Principal name = new X500Principal("CN=fanout-reference");
            var builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name,
                    key.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the reference server's certificate", e);
        }
    }

    static X509Certificate certificate(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new IllegalArgumentException("not a DER X.509 certificate", e);
        }
    }

    /** The CA pin an enrolment token carries: its last dot-separated part, base64url SHA-256 of the CA's DER. */
    static byte[] pinOf(String enrolmentToken) {
        String[] parts = enrolmentToken.split("\\.");
        if (parts.length != 3) {
            throw new IllegalArgumentException("enrolment token \"" + enrolmentToken + "\" does not have three dot-separated parts");
        }
        return Base64.getUrlDecoder().decode(parts[2]);
    }
}
