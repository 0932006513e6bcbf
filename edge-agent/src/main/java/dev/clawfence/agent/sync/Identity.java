package dev.clawfence.agent.sync;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * What enrolment gave the agent: the control plane's address, the instance and tenant ids, the agent's
 * private key (PKCS#8 DER, generated on this host) and its certificate chain (own certificate first, the
 * CA last). Stored in the state directory so that later starts need only {@code --state-dir}.
 */
public record Identity(String server, String instanceId, String tenantId, byte[] privateKeyPkcs8, List<byte[]> chainDer) {

    public Identity {
        chainDer = List.copyOf(chainDer);
    }

    /** The private key. */
    public PrivateKey privateKey() throws GeneralSecurityException {
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(privateKeyPkcs8));
    }

    /** The certificate chain, own certificate first. */
    public List<X509Certificate> chain() throws GeneralSecurityException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> chain = new ArrayList<>();
        for (byte[] der : chainDer) {
            chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
        }
        return chain;
    }

    /** The agent's own certificate (the first of the chain). */
    public X509Certificate certificate() throws GeneralSecurityException {
        return chain().getFirst();
    }

    /** The same instance with a new key and certificate chain, as a renewal returns them. */
    public Identity renewed(byte[] newPrivateKeyPkcs8, List<byte[]> newChainDer) {
        return new Identity(server, instanceId, tenantId, newPrivateKeyPkcs8, newChainDer);
    }

    /** A line-based text form: {@code key=value}, binary values in base64. */
    public byte[] encode() {
        Base64.Encoder b64 = Base64.getEncoder();
        StringBuilder out = new StringBuilder();
        out.append("server=").append(server).append('\n');
        out.append("instance=").append(instanceId).append('\n');
        out.append("tenant=").append(tenantId).append('\n');
        out.append("key=").append(b64.encodeToString(privateKeyPkcs8)).append('\n');
        chainDer.forEach(der -> out.append("cert=").append(b64.encodeToString(der)).append('\n'));
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * @throws IllegalArgumentException when {@code bytes} is not an encoded identity
     */
    public static Identity decode(byte[] bytes) {
        String server = null;
        String instance = null;
        String tenant = null;
        byte[] key = null;
        List<byte[]> chain = new ArrayList<>();
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String value = line.substring(eq + 1);
            switch (line.substring(0, eq)) {
                case "server" -> server = value;
                case "instance" -> instance = value;
                case "tenant" -> tenant = value;
                case "key" -> key = Base64.getDecoder().decode(value);
                case "cert" -> chain.add(Base64.getDecoder().decode(value));
                default -> { }
            }
        }
        if (server == null || instance == null || tenant == null || key == null || chain.isEmpty()) {
            throw new IllegalArgumentException("the identity lacks server, instance, tenant, key or certificate");
        }
        return new Identity(server, instance, tenant, key, chain);
    }
}
