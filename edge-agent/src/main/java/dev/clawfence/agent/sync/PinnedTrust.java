package dev.clawfence.agent.sync;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts a server only through the CA pinned in the enrolment token: the server's chain must contain a
 * certificate whose DER has SHA-256 {@code pin}, and the certificates below it must form a valid PKIX
 * path to it (signatures, validity, CA constraints). There is no way to turn the check off; nothing
 * from the system trust store is consulted. The server must therefore send its CA certificate in the
 * TLS chain during enrolment. Host names are checked by the TLS client, not here.
 */
public final class PinnedTrust implements X509TrustManager {

    private final byte[] pin;

    public PinnedTrust(byte[] pin) {
        if (pin == null || pin.length != 32) {
            throw new IllegalArgumentException("a CA pin is a 32-byte SHA-256");
        }
        this.pin = pin.clone();
    }

    /** The pinned CA certificate from {@code chain}, after checking the path below it. */
    public X509Certificate verify(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server sent no certificate");
        }
        int anchor = -1;
        for (int i = 0; i < chain.length && anchor < 0; i++) {
            if (MessageDigest.isEqual(EnrolmentToken.pinOf(chain[i].getEncoded()), pin)) {
                anchor = i;
            }
        }
        if (anchor < 0) {
            throw new CertificateException("the server's certificate chain does not contain the CA pinned in the enrolment token");
        }
        if (anchor == 0) {
            throw new CertificateException("the server presented the pinned CA certificate itself, not a certificate issued by it");
        }
        try {
            List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain).subList(0, anchor));
            PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(chain[anchor], null)));
            parameters.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the server's certificate does not chain to the pinned CA: " + e.getMessage(), e);
        }
        return chain[anchor];
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent never accepts clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
