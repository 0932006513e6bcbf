package dev.clawfence.controlplane.agents;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.certificates.AgentIdentity;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.enrollment.EnrollmentTokens;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import dev.clawfence.proto.agent.v1.EventAck;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.RenewRequest;
import dev.clawfence.proto.agent.v1.RenewResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code clawfence.agent.v1.AgentGateway}: translates calls to {@link AgentEnrollment},
 * {@link SyncSession} and {@link UploadSession}, and maps refusals to gRPC statuses with a description (never an internal
 * message). The caller's identity comes from {@link AgentIdentityInterceptor}. Not a bean: the
 * admin gRPC server must not serve it.
 */
final class AgentGatewayService extends AgentGatewayGrpc.AgentGatewayImplBase {

    private static final Logger LOG = LoggerFactory.getLogger(AgentGatewayService.class);

    private final AgentEnrollment enrollment;
    private final SyncSession.Factory sessions;
    private final UploadSession.Factory uploads;

    AgentGatewayService(AgentEnrollment enrollment, SyncSession.Factory sessions, UploadSession.Factory uploads) {
        this.enrollment = enrollment;
        this.sessions = sessions;
        this.uploads = uploads;
    }

    @Override
    public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> response) {
        AgentEnrollment.Enrolled enrolled;
        try {
            enrolled = enrollment.enroll(request.getToken(), request.getCsrDer().toByteArray(), request.getHostname(),
                    request.getAgentVersion(), AgentIdentityInterceptor.REMOTE_ADDRESS.get());
        } catch (IllegalArgumentException | CertificateAuthority.InvalidRequest e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (EnrollmentTokens.RefusedToken e) {
            response.onError(Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            LOG.error("Enroll failed", e);
            response.onError(internal());
            return;
        }
        response.onNext(EnrollResponse.newBuilder()
                .setInstanceId(enrolled.identity().instanceId().toString())
                .setTenantId(enrolled.identity().tenantId().toString())
                .addAllCertificateChainDer(der(enrolled.chain()))
                .build());
        response.onCompleted();
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewResponse> response) {
        List<X509Certificate> chain;
        try {
            chain = enrollment.renew(AgentIdentityInterceptor.IDENTITY.get(), request.getCsrDer().toByteArray(),
                    AgentIdentityInterceptor.REMOTE_ADDRESS.get());
        } catch (CertificateAuthority.InvalidRequest e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            LOG.error("Renew failed", e);
            response.onError(internal());
            return;
        }
        response.onNext(RenewResponse.newBuilder().addAllCertificateChainDer(der(chain)).build());
        response.onCompleted();
    }

    @Override
    public StreamObserver<AgentMessage> sync(StreamObserver<ControlMessage> response) {
        AgentIdentity identity = AgentIdentityInterceptor.IDENTITY.get();
        return sessions.open(identity, AgentIdentityInterceptor.REMOTE_ADDRESS.get(),
                (ServerCallStreamObserver<ControlMessage>) response);
    }

    @Override
    public StreamObserver<EventBatch> uploadEvents(StreamObserver<EventAck> response) {
        return uploads.open(AgentIdentityInterceptor.IDENTITY.get(), (ServerCallStreamObserver<EventAck>) response);
    }

    private static io.grpc.StatusRuntimeException internal() {
        return Status.INTERNAL.withDescription("the server could not handle this call; it has been logged")
                .asRuntimeException();
    }

    private static List<ByteString> der(List<X509Certificate> chain) {
        return chain.stream().map(c -> {
            try {
                return ByteString.copyFrom(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }
}
