package dev.clawfence.controlplane.certificates;

import static dev.clawfence.controlplane.database.jooq.Tables.CERTIFICATE_AUTHORITY;

import dev.clawfence.controlplane.database.Database;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The control plane's root certificate authority (EC P-256), created at the first start and kept in
 * the owner-only table {@code certificate_authority} so that every replica signs with the same key.
 * It issues agents' client certificates (CN and SAN URI name the instance, see {@link AgentIdentity})
 * from verified PKCS#10 requests, and the agent gateway's server certificate.
 *
 * <p>The private key is stored as PEM text; it should be wrapped by a KMS key.
 */
@Singleton
public final class CertificateAuthority {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    /** Clocks of agents and replicas drift; a certificate is valid a little before it is issued. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);

    private final X509Certificate certificate;
    private final PrivateKey privateKey;

    public CertificateAuthority(Database database) {
        database.asOwner(sql -> {
            Root fresh = create();
            sql.insertInto(CERTIFICATE_AUTHORITY)
                    .set(CERTIFICATE_AUTHORITY.ID, 1)
                    .set(CERTIFICATE_AUTHORITY.CERTIFICATE_DER, fresh.certificateDer())
                    .set(CERTIFICATE_AUTHORITY.PRIVATE_KEY_PEM, fresh.privateKeyPem())
                    .onConflictDoNothing()
                    .execute();
            return null;
        });
        // Whoever inserted first won; every replica reads the one row back.
        var row = database.asOwner(sql -> sql.selectFrom(CERTIFICATE_AUTHORITY)
                .where(CERTIFICATE_AUTHORITY.ID.eq(1)).fetchSingle());
        certificate = parseCertificate(row.getCertificateDer());
        privateKey = readPrivateKey(row.getPrivateKeyPem());
    }

    /** A refused certificate signing request; the message says why, for the agent. */
    public static final class InvalidRequest extends Exception {
        InvalidRequest(String message) {
            super(message);
        }
    }

    /** The root certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The pin agents check the server against: base64url (no padding) SHA-256 of the root's DER. */
    public String pin() {
        return pinOf(certificate);
    }

    /** The pin of any certificate, as {@link #pin()} computes it. */
    public static String pinOf(X509Certificate certificate) {
        try {
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot hash the CA certificate", e);
        }
    }

    /**
     * Issues a client certificate for {@code identity} to {@code key}, which must come from
     * {@link #requestedKey}.
     */
    public X509Certificate issueAgentCertificate(PublicKey key, AgentIdentity identity, Duration validity) {
        Instant now = Instant.now();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Clawfence agents")
                .addRDN(BCStyle.CN, identity.instanceId().toString()).build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)), subject, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, identity.uri())))
                    .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(key))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(certificate));
            return sign(builder);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue an agent certificate", e);
        }
    }

    /** Issues a server certificate for {@code key} naming {@code names} (DNS names or IP addresses), valid a year. */
    public X509Certificate issueServerCertificate(PublicKey key, List<String> names) {
        Instant now = Instant.now();
        List<GeneralName> alternatives = new ArrayList<>();
        for (String name : names) {
            alternatives.add(isIpLiteral(name) ? new GeneralName(GeneralName.iPAddress, name)
                    : new GeneralName(GeneralName.dNSName, name));
        }
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Clawfence")
                .addRDN(BCStyle.CN, "Clawfence agent gateway").build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(Duration.ofDays(365))), subject, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(alternatives.toArray(GeneralName[]::new)))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(certificate));
            return sign(builder);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue the agent gateway's server certificate", e);
        }
    }

    /** A fresh EC P-256 key pair. */
    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has EC P-256", e);
        }
    }

    /**
     * The public key of {@code csrDer}, a DER PKCS#10 request whose signature must verify with that key
     * (proof that the agent holds it); the request's subject is ignored.
     */
    public static PublicKey requestedKey(byte[] csrDer) throws InvalidRequest {
        if (csrDer == null || csrDer.length == 0) {
            throw new InvalidRequest("csr_der is empty; send a DER-encoded PKCS#10 certificate signing request");
        }
        JcaPKCS10CertificationRequest csr;
        try {
            csr = new JcaPKCS10CertificationRequest(csrDer);
        } catch (IOException | RuntimeException e) {
            throw new InvalidRequest("csr_der is not a DER-encoded PKCS#10 certificate signing request");
        }
        PublicKey key;
        try {
            key = csr.getPublicKey();
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new InvalidRequest("csr_der holds a public key this server cannot read; use EC P-256");
        }
        if (!"EC".equals(key.getAlgorithm()) && !"RSA".equals(key.getAlgorithm())) {
            throw new InvalidRequest("csr_der holds a " + key.getAlgorithm() + " key; use EC P-256 (or RSA)");
        }
        try {
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw new InvalidRequest("csr_der's signature does not verify with its own public key");
            }
        } catch (OperatorCreationException | PKCSException | RuntimeException e) {
            throw new InvalidRequest("csr_der's signature cannot be verified: unsupported signature algorithm");
        }
        return key;
    }

    private X509Certificate sign(X509v3CertificateBuilder builder) throws CertificateException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(privateKey);
            return parseCertificate(builder.build(signer).getEncoded());
        } catch (OperatorCreationException | IOException e) {
            throw new CertificateException(e);
        }
    }

    private static BigInteger serial() {
        // 127 random bits: positive, unique in practice, unpredictable.
        return new BigInteger(127, RANDOM).setBit(126);
    }

    private static boolean isIpLiteral(String name) {
        return name.contains(":") || IPV4.matcher(name).matches();
    }

    private record Root(byte[] certificateDer, String privateKeyPem) {}

    private static Root create() {
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Clawfence")
                .addRDN(BCStyle.CN, "Clawfence agent CA").build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(Duration.ofDays(3650))), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(pair.getPublic()));
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(pair.getPrivate());
            byte[] der = builder.build(signer).getEncoded();
            String pem = "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pair.getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
            return new Root(der, pem);
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the certificate authority", e);
        }
    }

    private static PrivateKey readPrivateKey(String pem) {
        String body = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
                .replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the stored CA private key does not read back", e);
        }
    }

    /** Parses a DER certificate. */
    public static X509Certificate parseCertificate(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new IllegalStateException("not a DER certificate", e);
        }
    }
}
