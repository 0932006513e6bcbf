package dev.clawfence.controlplane.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.admin.v1.AdminServiceGrpc;
import dev.clawfence.proto.admin.v1.GetPolicyRequest;
import dev.clawfence.proto.admin.v1.ListTenantsRequest;
import dev.clawfence.proto.admin.v1.SimulateRequest;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin gRPC service over real TCP on the test server's random gRPC port. */
class AdminServiceIT {

    private final TestServer server = TestServer.get();
    private final ManagedChannel channel = ManagedChannelBuilder
            .forAddress("localhost", server.context().getBean(GrpcEmbeddedServer.class).getPort())
            .usePlaintext()
            .build();

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private AdminServiceGrpc.AdminServiceBlockingStub stub(String token) {
        return AdminServiceGrpc.newBlockingStub(channel).withCallCredentials(new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata headers = new Metadata();
                if (token != null) {
                    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
                }
                applier.apply(headers);
            }
        });
    }

    @Test
    void adminListsTenantsReadsPoliciesAndSimulates() {
        Api admin = server.admin();
        UUID tenant = admin.createTenant("Grpc tenant");
        var stub = stub(TestServer.ADMIN_TOKEN);

        assertThat(stub.listTenants(ListTenantsRequest.getDefaultInstance()).getTenantsList())
                .anySatisfy(t -> assertThat(t.getId()).isEqualTo(tenant.toString()));
        var policy = stub.getPolicy(GetPolicyRequest.newBuilder().setTenantId(tenant.toString()).build());
        assertThat(policy.getVersion()).isEqualTo(1);
        assertThat(policy.getDocumentJson()).contains("\"author\":\"system\"", "\"policy\":");
        var decision = stub.simulate(SimulateRequest.newBuilder().setTenantId(tenant.toString()).setDirection("inbound")
                .setFrom("198.51.100.3").setPort(443).setProto("tcp").build());
        assertThat(decision.getVerdict()).isEqualTo("allowed");

        List<Map<String, Object>> audit = (List<Map<String, Object>>) admin.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items");
        assertThat(audit).extracting(e -> e.get("action")).contains("admin.get-policy", "admin.simulate");
    }

    @Test
    void refusalsAreStatusesWithDescriptions() {
        UUID tenant = server.admin().createTenant("Grpc refusals");
        String tenantToken = (String) server.admin().post("/api/v1/tenants/" + tenant + "/api-tokens",
                Map.of("name", "t", "role", "owner")).map().get("token");

        assertThatThrownBy(() -> stub(null).listTenants(ListTenantsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        assertThatThrownBy(() -> stub(tenantToken).listTenants(ListTenantsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        var admin = stub(TestServer.ADMIN_TOKEN);
        assertThatThrownBy(() -> admin.getPolicy(GetPolicyRequest.newBuilder().setTenantId("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("tenant");
                });
        assertThatThrownBy(() -> admin.getPolicy(GetPolicyRequest.newBuilder().setTenantId(UUID.randomUUID().toString()).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> admin.simulate(SimulateRequest.newBuilder().setTenantId(tenant.toString())
                .setDirection("sideways").setProto("tcp").setPort(443).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("direction");
                });
    }
}
