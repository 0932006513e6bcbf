package dev.clawfence.agent.sync;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The agent's own key pair (EC P-256, generated on the host, never sent) and its PKCS#10 certificate
 * signing request. The subject is a placeholder: the control plane names tenant and instance itself.
 */
public final class KeyMaterial {

    private KeyMaterial() {}

    public static KeyPair generate() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    /** A DER-encoded PKCS#10 request for {@code keys}, signed with SHA256withECDSA. */
    public static byte[] csr(KeyPair keys) throws IOException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
            PKCS10CertificationRequest request = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=clawfence-agent"), keys.getPublic()).build(signer);
            return request.getEncoded();
        } catch (OperatorCreationException e) {
            throw new IOException("cannot sign the certificate request: " + e.getMessage(), e);
        }
    }
}
