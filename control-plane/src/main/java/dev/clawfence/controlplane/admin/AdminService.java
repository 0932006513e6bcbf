package dev.clawfence.controlplane.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.policy.PolicyVersion;
import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.policy.PolicyViews;
import dev.clawfence.controlplane.policy.Simulation;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.controlplane.tenancy.Tenants;
import dev.clawfence.proto.admin.v1.AdminServiceGrpc;
import dev.clawfence.proto.admin.v1.GetPolicyRequest;
import dev.clawfence.proto.admin.v1.GetPolicyResponse;
import dev.clawfence.proto.admin.v1.ListTenantsRequest;
import dev.clawfence.proto.admin.v1.ListTenantsResponse;
import dev.clawfence.proto.admin.v1.SimulateRequest;
import dev.clawfence.proto.admin.v1.SimulateResponse;
import dev.clawfence.proto.admin.v1.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code clawfence.admin.v1.AdminService}: translates each call to the services REST uses, audits it,
 * and maps refusals to gRPC statuses with a description (never an internal message).
 */
@Singleton
public final class AdminService extends AdminServiceGrpc.AdminServiceImplBase {

    private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Tenants tenants;
    private final TenantAccess access;
    private final PolicyVersions versions;
    private final Simulation simulation;
    private final AuditLog audit;

    public AdminService(Tenants tenants, TenantAccess access, PolicyVersions versions, Simulation simulation,
            AuditLog audit) {
        this.tenants = tenants;
        this.access = access;
        this.versions = versions;
        this.simulation = simulation;
        this.audit = audit;
    }

    @Override
    public void listTenants(ListTenantsRequest request, StreamObserver<ListTenantsResponse> response) {
        respond(response, () -> {
            Caller caller = AdminAuthInterceptor.CALLER.get();
            audit.recordPlatform(caller, "admin.list-tenants", "tenants", "grpc");
            ListTenantsResponse.Builder out = ListTenantsResponse.newBuilder();
            for (Tenants.Tenant tenant : tenants.all()) {
                out.addTenants(Tenant.newBuilder().setId(tenant.id().toString()).setName(tenant.name())
                        .setCreatedAt(tenant.createdAt().toInstant().toString()));
            }
            return out.build();
        });
    }

    @Override
    public void getPolicy(GetPolicyRequest request, StreamObserver<GetPolicyResponse> response) {
        respond(response, () -> access.read(AdminAuthInterceptor.CALLER.get(), request.getTenantId(), tx -> {
            PolicyVersion current = versions.current(tx);
            audit.record(tx, "admin.get-policy", "policy:v" + current.version(), "grpc");
            return GetPolicyResponse.newBuilder()
                    .setVersion(current.version())
                    .setDocumentJson(json(PolicyViews.full(current, versions.warningsNow(current))))
                    .build();
        }));
    }

    @Override
    public void simulate(SimulateRequest request, StreamObserver<SimulateResponse> response) {
        respond(response, () -> access.read(AdminAuthInterceptor.CALLER.get(), request.getTenantId(), tx -> {
            Map<String, Object> connection = new LinkedHashMap<>();
            putIfSet(connection, "direction", request.getDirection());
            putIfSet(connection, "from", request.getFrom());
            putIfSet(connection, "to", request.getTo());
            if (request.getPort() != 0) {
                connection.put("port", request.getPort());
            }
            putIfSet(connection, "proto", request.getProto());
            Simulation.Result result = simulation.simulate(tx, connection);
            audit.record(tx, "admin.simulate", "policy:v" + result.policyVersion(),
                    "grpc " + connection + " -> " + result.verdict());
            return SimulateResponse.newBuilder()
                    .setVerdict(result.verdict())
                    .setReason(result.reason())
                    .setRuleId(result.ruleId() == null ? "" : result.ruleId())
                    .setExplanation(result.explanation() == null ? "" : result.explanation())
                    .build();
        }));
    }

    private static <T> void respond(StreamObserver<T> response, Supplier<T> work) {
        T value;
        try {
            value = work.get();
        } catch (ApiProblem problem) {
            response.onError(status(problem));
            return;
        } catch (RuntimeException e) {
            LOG.error("Admin call failed", e);
            response.onError(Status.INTERNAL.withDescription("the server could not handle this call; it has been logged")
                    .asRuntimeException());
            return;
        }
        response.onNext(value);
        response.onCompleted();
    }

    /** The gRPC status for a refusal, with the same sentence and field paths REST would give. */
    static StatusRuntimeException status(ApiProblem problem) {
        Status status = switch (problem.status()) {
            case BAD_REQUEST, UNPROCESSABLE_ENTITY -> Status.INVALID_ARGUMENT;
            case UNAUTHORIZED -> Status.UNAUTHENTICATED;
            case FORBIDDEN -> Status.PERMISSION_DENIED;
            case NOT_FOUND -> Status.NOT_FOUND;
            case CONFLICT -> Status.ALREADY_EXISTS;
            case PRECONDITION_FAILED, PRECONDITION_REQUIRED -> Status.FAILED_PRECONDITION;
            default -> Status.UNKNOWN;
        };
        StringBuilder description = new StringBuilder(problem.detail());
        problem.errors().forEach(e -> description.append("; ").append(e.path()).append(": ").append(e.message()));
        return status.withDescription(description.toString()).asRuntimeException();
    }

    private static void putIfSet(Map<String, Object> map, String key, String value) {
        if (!value.isEmpty()) {
            map.put(key, value);
        }
    }

    private static String json(Object tree) {
        try {
            return JSON.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
