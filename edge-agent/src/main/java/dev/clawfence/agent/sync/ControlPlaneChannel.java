package dev.clawfence.agent.sync;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.okhttp.OkHttpChannelBuilder;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;

/**
 * The mutual-TLS channel to the control plane after enrolment: the agent's key and certificate from its
 * {@link Identity}, and trust pinned to the CA at the end of that certificate chain ({@link PinnedTrust}).
 *
 * <p>The transport is grpc-okhttp with the JDK's TLS, not grpc-netty: an agent holds one connection, and
 * Netty's ~900 classes, event loops and pooled direct buffers cost it 12-15 MiB of resident memory for
 * nothing (BENCHMARKS.md, "Edge agent footprint").
 */
public final class ControlPlaneChannel {

    /**
     * The largest message the agent takes. gRPC's default of 4 MiB is below a PolicyUpdate of about
     * 100,000 allowlist CIDRs (the sets travel in the update); the control plane caps an update's
     * expiry schedule well below this.
     */
    static final int MAX_INBOUND_MESSAGE_BYTES = 64 << 20;

    private ControlPlaneChannel() {}

    public static ManagedChannel open(Identity identity) throws GeneralSecurityException, IOException {
        List<X509Certificate> chain = identity.chain();
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.pinOf(chain.getLast().getEncoded()));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        char[] none = new char[0];
        keys.setKeyEntry("agent", identity.privateKey(), none, chain.toArray(X509Certificate[]::new));
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, none);
        ChannelCredentials credentials = TlsChannelCredentials.newBuilder()
                .keyManager(keyManagers.getKeyManagers())
                .trustManager(trust)
                .build();
        return channel(identity.server(), credentials);
    }

    /** A channel to {@code server} with {@code credentials}; also used for enrolment, so both calls share one transport. */
    static ManagedChannel channel(String server, ChannelCredentials credentials) {
        return OkHttpChannelBuilder.forTarget(server, credentials)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .build();
    }
}
