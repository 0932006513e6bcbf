package dev.clawfence.agent.sync;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The mutual-TLS channel to the control plane after enrolment: the agent's key and certificate from its
 * {@link Identity}, and trust pinned to the CA at the end of that certificate chain ({@link PinnedTrust}).
 */
public final class ControlPlaneChannel {

    private ControlPlaneChannel() {}

    public static ManagedChannel open(Identity identity) throws GeneralSecurityException, IOException {
        List<X509Certificate> chain = identity.chain();
        PinnedTrust trust = new PinnedTrust(EnrolmentToken.pinOf(chain.getLast().getEncoded()));
        return NettyChannelBuilder.forTarget(identity.server())
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .keyManager(identity.privateKey(), chain.toArray(X509Certificate[]::new))
                        .trustManager(trust)
                        .build())
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build();
    }
}
