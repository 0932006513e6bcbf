package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.annotation.Context;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent gateway: a TLS gRPC server of its own (not the admin server) on
 * {@code clawfence.agent-gateway.port}, started and stopped with the application. Its server certificate
 * is issued by the CA at every start for {@code clawfence.agent-gateway.server-names}; client
 * certificates are optional at the TLS layer (Enroll has none) and trusted only when the CA issued them;
 * {@link AgentIdentityInterceptor} demands one for every other call. With it starts this replica's
 * PostgreSQL listener that fans policy versions and revocations out to the open streams.
 */
@Context
public final class AgentGatewayServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AgentGatewayServer.class);

    private final Server server;
    private final PolicyNotifications notifications;
    private final AgentStreams streams;
    private final CertificateAuthority authority;
    private final InstanceReports reports;
    private final String tlsEngine;

    public AgentGatewayServer(AgentGatewayConfiguration config, CertificateAuthority authority,
            AgentEnrollment enrollment, SyncSession.Factory sessions, UploadSession.Factory uploads, PolicyDistribution distribution,
            AgentStreams streams, InstanceReports reports, EncodedOnce encoded, Database database) {
        this.streams = streams;
        this.reports = reports;
        this.authority = authority;
        if (!config.isEnabled()) {
            server = null;
            notifications = null;
            tlsEngine = null;
            return;
        }
        KeyPair key = CertificateAuthority.newKeyPair();
        X509Certificate certificate = authority.issueServerCertificate(key.getPublic(), config.serverNamesOrDefault());
        try {
            SslContext tls = GrpcSslContexts.configure(
                            SslContextBuilder.forServer(key.getPrivate(), certificate, authority.certificate()))
                    .trustManager(authority.certificate())
                    .clientAuth(ClientAuth.OPTIONAL)
                    .build();
            // GrpcSslContexts picks BoringSSL (netty-tcnative) where it loads: with thousands of agents the
            // JDK engine's handshakes and record encryption were most of the gateway's CPU.
            tlsEngine = tls instanceof ReferenceCountedOpenSslContext ? "OpenSSL " + OpenSsl.versionString() : "the JDK";
            notifications = new PolicyNotifications(database, distribution, streams);
            server = NettyServerBuilder.forPort(config.portOrDefault())
                    .sslContext(tls)
                    .permitKeepAliveTime(20, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .addService(encoded.bind(ServerInterceptors.intercept(new AgentGatewayService(enrollment, sessions, uploads),
                            new AgentIdentityInterceptor(enrollment))))
                    .build()
                    .start();
            if (!notifications.awaitListening(10, TimeUnit.SECONDS)) {
                LOG.warn("The policy listener is not listening yet; agents may miss updates until it is");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the agent gateway on port " + config.portOrDefault(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the agent gateway", e);
        }
        LOG.info("Agent gateway listening on port {} (TLS by {}; CA pin {})", server.getPort(), tlsEngine, authority.pin());
    }

    /** Whether the gateway runs. */
    public boolean isRunning() {
        return server != null && !server.isShutdown();
    }

    /** The port it listens on (the configured one, or the one picked for port 0). */
    public int port() {
        return server == null ? -1 : server.getPort();
    }

    /** The Sync method as the gateway serves it (tests check that its responses go through {@link EncodedOnce}). */
    MethodDescriptor<?, ?> syncMethod() {
        return server.getServices().stream()
                .map(service -> service.getMethod(AgentGatewayGrpc.getSyncMethod().getFullMethodName()))
                .filter(Objects::nonNull).findFirst().orElseThrow().getMethodDescriptor();
    }

    /** The pin of the CA that issued its certificate, as enrolment tokens carry it. */
    public String caPin() {
        return authority.pin();
    }

    @PreDestroy
    @Override
    public void close() {
        if (server == null) {
            return;
        }
        server.shutdown();
        CompletableFuture<Void> ended = streams.closeAll(
                Status.UNAVAILABLE.withDescription("the control plane is shutting down; reconnect"));
        try {
            // Their ends are written in the next batch: write it now, so the instances show disconnected.
            ended.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("Not every agent stream ended within 5 s of the shutdown; some instances may still show connected");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reports.flush();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        notifications.close();
    }
}
