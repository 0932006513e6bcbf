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
import java.net.InetAddress;
import java.net.Socket;
import java.util.Collection;
import java.util.Locale;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a server only through the CA pinned in the enrolment token: the server's chain must contain a
 * certificate whose DER has SHA-256 {@code pin}, and the certificates below it must form a valid PKIX
 * path to it (signatures, validity, CA constraints). There is no way to turn the check off; nothing
 * from the system trust store is consulted. The server must therefore send its CA certificate in the
 * TLS chain during enrolment. The server's certificate must also name the host the agent connected to
 * (a DNS or IP subject alternative name); this is checked here, not left to the TLS stack, because a
 * custom trust manager does not get the JDK's host-name check in every TLS stack.
 */
public final class PinnedTrust extends X509ExtendedTrustManager {

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

    /** Checks that {@code certificate} names {@code host}: an IP address SAN for an address, else a DNS SAN (one-label wildcard allowed). */
    public static void checkHost(X509Certificate certificate, String host) throws CertificateException {
        if (host == null || host.isEmpty()) {
            throw new CertificateException("the server's host name is unknown, so its certificate cannot be checked");
        }
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        boolean literal = bare.matches("[0-9.]+") || bare.contains(":");
        Collection<List<?>> names = certificate.getSubjectAlternativeNames();
        if (names != null) {
            for (List<?> name : names) {
                int type = (Integer) name.get(0);
                String value = String.valueOf(name.get(1));
                if (literal && type == 7 && sameAddress(value, bare)) {
                    return;
                }
                if (!literal && type == 2 && dnsMatches(value.toLowerCase(Locale.ROOT), bare.toLowerCase(Locale.ROOT))) {
                    return;
                }
            }
        }
        throw new CertificateException("the server's certificate is not for " + host);
    }

    private static boolean sameAddress(String a, String b) {
        try {
            return InetAddress.ofLiteral(a).equals(InetAddress.ofLiteral(b));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean dnsMatches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            int dot = host.indexOf('.');
            return dot > 0 && host.substring(dot + 1).equals(pattern.substring(2));
        }
        return pattern.equals(host);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        verify(chain);
        checkHost(chain[0], engine == null ? null : engine.getPeerHost());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        verify(chain);
        checkHost(chain[0], socket == null || socket.getInetAddress() == null ? null : socket.getInetAddress().getHostAddress());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the server's host name is unknown, so its certificate cannot be checked");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent never accepts clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("the agent never accepts clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("the agent never accepts clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
