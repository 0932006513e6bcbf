package dev.clawfence.controlplane.support;

import dev.clawfence.controlplane.agents.AgentGatewayServer;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Test agents enrolled with a fresh token of their tenant against the shared test server, closed after each
 * test ({@code @RegisterExtension}) so no stream outlives the test that opened it.
 */
public final class EnrolledAgents implements AfterEachCallback {

    private final TestServer server;
    private final List<TestAgent> open = new CopyOnWriteArrayList<>();

    public EnrolledAgents(TestServer server) {
        this.server = server;
    }

    /** A new agent of {@code tenant}, enrolled and ready to sync. */
    public TestAgent enroll(UUID tenant) {
        Api.Response token = server.admin().post("/api/v1/tenants/" + tenant + "/enrollment-tokens", Map.of());
        TestAgent agent = new TestAgent(server.context().getBean(AgentGatewayServer.class).port(),
                server.context().getBean(CertificateAuthority.class).certificate());
        open.add(agent);
        agent.enroll((String) token.map().get("token"));
        return agent;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        open.forEach(TestAgent::close);
        open.clear();
    }
}
