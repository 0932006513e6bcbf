package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hellos and stream ends written behind the streams, in batches, against the real database: within one
 * batch they land in the order they happened, so a stream's end is never undone by its own hello.
 */
class InstanceReportsIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    private final AgentGatewayServer gateway = server.context().getBean(AgentGatewayServer.class);
    private final InstanceReports reports = server.context().getBean(InstanceReports.class);
    private final List<TestAgent> agents = new ArrayList<>();

    @AfterEach
    void closeAgents() {
        agents.forEach(TestAgent::close);
    }

    private UUID enrolledInstance(UUID tenant) {
        Api.Response token = admin.post("/api/v1/tenants/" + tenant + "/enrollment-tokens", Map.of());
        TestAgent agent = new TestAgent(gateway.port(), server.context().getBean(CertificateAuthority.class).certificate());
        agents.add(agent);
        return UUID.fromString(agent.enroll((String) token.map().get("token")).getInstanceId());
    }

    private Map<String, Object> instance(UUID tenant) {
        return admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
    }

    private static Instances.Hello hello(String agentVersion) {
        return new Instances.Hello(agentVersion, Map.of("hostname", "web-1"), 0, "");
    }

    /**
     * Queues {@code reports} so that they all land in one batch: the timer's flush waits on the same
     * monitor meanwhile, and the flush here writes them.
     */
    private void inOneBatch(Runnable queue) {
        synchronized (reports) {
            queue.run();
        }
        reports.flush();
    }

    @Test
    void aStreamThatEndsRightAfterItsHelloShowsDisconnected() {
        UUID tenant = admin.createTenant("Hello and goodbye");
        UUID instance = enrolledInstance(tenant);
        OffsetDateTime since = Instances.connectionStart();

        inOneBatch(() -> {
            reports.connected(tenant, instance, hello("9.9-hello"), since);
            reports.disconnected(tenant, instance, since);
        });

        // The hello was written (its facts are there), and the end after it.
        assertThat(instance(tenant)).containsEntry("agentVersion", "9.9-hello").containsEntry("connected", false);
    }

    @Test
    void theEndOfAnOlderStreamLeavesTheNewerOneConnected() {
        UUID tenant = admin.createTenant("Overlapping reconnect");
        UUID instance = enrolledInstance(tenant);
        OffsetDateTime older = Instances.connectionStart();
        OffsetDateTime newer = older.plusNanos(1000);

        inOneBatch(() -> {
            reports.connected(tenant, instance, hello("9.9-old"), older);
            reports.connected(tenant, instance, hello("9.9-new"), newer);
            reports.disconnected(tenant, instance, older);
        });
        assertThat(instance(tenant)).containsEntry("agentVersion", "9.9-new").containsEntry("connected", true);

        inOneBatch(() -> reports.disconnected(tenant, instance, newer));
        assertThat(instance(tenant)).containsEntry("connected", false);
    }

    @Test
    void aHelloWrittenAfterTheRevocationDoesNotShowTheInstanceConnected() {
        UUID tenant = admin.createTenant("Revoked meanwhile");
        UUID instance = enrolledInstance(tenant);
        assertThat(admin.post("/api/v1/tenants/" + tenant + "/instances/" + instance + "/revoke", null).status())
                .isEqualTo(204);

        inOneBatch(() -> reports.connected(tenant, instance, hello("9.9-late"), Instances.connectionStart()));

        assertThat(instance(tenant)).containsEntry("connected", false).doesNotContainEntry("agentVersion", "9.9-late");
    }
}
