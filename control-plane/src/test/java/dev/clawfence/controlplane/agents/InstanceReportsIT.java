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

    private Map<String, Object> instance(UUID tenant, UUID id) {
        return admin.get("/api/v1/tenants/" + tenant + "/instances").list().stream()
                .filter(i -> id.toString().equals(i.get("id"))).findFirst().orElseThrow();
    }

    private InstanceReports.Result applied(UUID tenant, UUID instance, long version, String rulesetHash) {
        return new InstanceReports.Result(tenant, instance, "192.0.2.7", version, "APPLIED", "", rulesetHash);
    }

    @Test
    void aBatchOfAppliedResultsLandsAsIfWrittenOneByOne() {
        UUID tenant = admin.createTenant("Applied together");
        UUID first = enrolledInstance(tenant);
        UUID second = enrolledInstance(tenant);
        UUID third = enrolledInstance(tenant);
        OffsetDateTime since = Instances.connectionStart();

        inOneBatch(() -> {
            reports.applied(applied(tenant, first, 3, "first-3"));
            reports.applied(applied(tenant, second, 3, "second-3"));
            // A later result without a hash keeps the hash named before it; the later version wins.
            reports.applied(applied(tenant, first, 4, ""));
            reports.connected(tenant, third, new Instances.Hello("9.9", Map.of("hostname", "web-3"), 2, "third-2"), since);
            // After the hello in the same batch: it must not be undone by the hello's applied version.
            reports.applied(applied(tenant, third, 4, "third-4"));
            reports.applied(applied(tenant, second, 4, "second-4"));
        });

        assertThat(instance(tenant, first)).containsEntry("applyVersion", 4).containsEntry("appliedPolicyVersion", 4)
                .containsEntry("applyOutcome", "APPLIED").containsEntry("rulesetHash", "first-3");
        assertThat(instance(tenant, second)).containsEntry("applyVersion", 4).containsEntry("appliedPolicyVersion", 4)
                .containsEntry("rulesetHash", "second-4");
        assertThat(instance(tenant, third)).containsEntry("applyVersion", 4).containsEntry("appliedPolicyVersion", 4)
                .containsEntry("rulesetHash", "third-4").containsEntry("connected", true);
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
