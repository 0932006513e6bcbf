package dev.clawfence.controlplane.admin;

import dev.clawfence.controlplane.tenancy.Authenticator;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.proto.admin.v1.AdminServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import jakarta.inject.Singleton;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Optional;

/**
 * Admits a gRPC call only with the platform admin token in its {@code authorization: Bearer …}
 * metadata (UNAUTHENTICATED without a valid token, PERMISSION_DENIED for a tenant's token), and
 * hands the {@link Caller} to the service through the gRPC {@link Context}.
 */
@Singleton
public final class AdminAuthInterceptor implements ServerInterceptor {

    /** The authenticated platform admin of the current call. */
    static final Context.Key<Caller> CALLER = Context.key("clawfence.caller");

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final Authenticator authenticator;

    public AdminAuthInterceptor(Authenticator authenticator) {
        this.authenticator = authenticator;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!AdminServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            // Micronaut applies interceptors to every service; other services (agents) authenticate otherwise.
            return next.startCall(call, headers);
        }
        Optional<Caller> caller = authenticator.authenticate(headers.get(AUTHORIZATION),
                remoteAddress(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
        if (caller.isEmpty()) {
            call.close(Status.UNAUTHENTICATED.withDescription(
                    "send the platform admin token as 'authorization: Bearer cf_…'"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        if (!caller.get().isPlatformAdmin()) {
            call.close(Status.PERMISSION_DENIED.withDescription("the admin service needs the platform admin token"),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(CALLER, caller.get()), call, headers, next);
    }

    private static String remoteAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        return address == null ? null : address.toString();
    }
}
