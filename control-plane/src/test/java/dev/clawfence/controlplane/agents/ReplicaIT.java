package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import io.grpc.Status;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Two replicas on one database: they share the CA, and a policy saved or an instance revoked on one
 * reaches an agent connected to the other through PostgreSQL LISTEN/NOTIFY.
 */
class ReplicaIT {

    @Test
    void changesOnOneReplicaReachAgentsOnAnother() {
        TestServer first = TestServer.get();
        Api admin = first.admin();
        try (EmbeddedServer second = ApplicationContext.run(EmbeddedServer.class, first.properties())) {
            CertificateAuthority authority = second.getApplicationContext().getBean(CertificateAuthority.class);
            assertThat(authority.pin()).isEqualTo(first.context().getBean(CertificateAuthority.class).pin());
            int port = second.getApplicationContext().getBean(AgentGatewayServer.class).port();
            UUID tenant = admin.createTenant("Replicated");
            String token = (String) admin.post("/api/v1/tenants/" + tenant + "/enrollment-tokens", Map.of())
                    .map().get("token");
            try (TestAgent agent = new TestAgent(port, authority.certificate())) {
                agent.enroll(token);
                TestAgent.Stream stream = agent.syncWithHello(List.of());
                await().atMost(Duration.ofSeconds(5)).until(() -> stream.policyUpdates().size() == 1);

                Api.Response saved = admin.put("/api/v1/tenants/" + tenant + "/network/policy",
                        Map.of("message", "from the other replica", "policy", Map.of(
                                "mode", Map.of("inbound", "monitor", "outbound", "off"),
                                "inbound", Map.of("allowlist", List.of(), "ports", List.of(),
                                        "geo", Map.of("mode", "none", "countries", List.of())),
                                "outbound", Map.of("destinations", List.of(), "ports", List.of(), "defaultAction", "allow"),
                                "tests", List.of())),
                        Map.of("If-Match", "\"1\""));
                assertThat(saved.status()).as(saved.toString()).isEqualTo(200);

                await().atMost(Duration.ofSeconds(1)).until(() -> stream.policyUpdates().size() == 2);
                assertThat(stream.policyUpdates().get(1).getPolicyUpdate().getVersion()).isEqualTo(2);

                assertThat(admin.post("/api/v1/tenants/" + tenant + "/instances/" + agent.enrolled().getInstanceId()
                        + "/revoke", null).status()).isEqualTo(204);
                await().atMost(Duration.ofSeconds(2)).until(() -> stream.ended.get() != null);
                assertThat(stream.ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            }
        }
    }
}
