package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.certificates.AgentIdentity;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits every agent gateway call except Enroll only with a client certificate the CA issued (TLS has
 * verified its chain), takes tenant and instance from its SAN URI, checks that the instance exists and
 * is not revoked, and hands the {@link AgentIdentity} to the service through the gRPC {@link Context}.
 */
final class AgentIdentityInterceptor implements ServerInterceptor {

    /** The verified identity of the calling agent. */
    static final Context.Key<AgentIdentity> IDENTITY = Context.key("clawfence.agent-identity");
    /** The calling agent's address, for audit entries. */
    static final Context.Key<String> REMOTE_ADDRESS = Context.key("clawfence.agent-remote-address");

    private static final Logger LOG = LoggerFactory.getLogger(AgentIdentityInterceptor.class);

    private final AgentEnrollment enrollment;

    AgentIdentityInterceptor(AgentEnrollment enrollment) {
        this.enrollment = enrollment;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String remote = remoteAddress(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        Context context = Context.current().withValue(REMOTE_ADDRESS, remote);
        if (AgentGatewayGrpc.getEnrollMethod().getFullMethodName().equals(call.getMethodDescriptor().getFullMethodName())) {
            return Contexts.interceptCall(context, call, headers, next);
        }
        Optional<AgentIdentity> identity = peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))
                .flatMap(AgentIdentity::of);
        if (identity.isEmpty()) {
            return refuse(call, Status.UNAUTHENTICATED.withDescription(
                    "this call needs the client certificate issued at enrolment (mutual TLS); enrol first"));
        }
        Instances.Standing standing;
        try {
            standing = enrollment.standing(identity.get());
        } catch (RuntimeException e) {
            LOG.error("Cannot check instance {}", identity.get().instanceId(), e);
            return refuse(call, Status.UNAVAILABLE.withDescription("the control plane cannot check this instance now; retry"));
        }
        return switch (standing) {
            case ACTIVE -> Contexts.interceptCall(context.withValue(IDENTITY, identity.get()), call, headers, next);
            case REVOKED -> refuse(call, Status.PERMISSION_DENIED.withDescription("instance "
                    + identity.get().instanceId() + " has been revoked; enrol the host again with a new token"));
            case UNKNOWN -> refuse(call, Status.PERMISSION_DENIED.withDescription("instance "
                    + identity.get().instanceId() + " is not known to this control plane; enrol the host again"));
        };
    }

    private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {};
    }

    private static Optional<X509Certificate> peer(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x509 ? Optional.of(x509) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    private static String remoteAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        return address == null ? null : address.toString();
    }
}
