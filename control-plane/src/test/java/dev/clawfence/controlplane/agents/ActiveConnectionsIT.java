package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.ActiveConnection;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.ActiveConnectionsRequest;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.PortCount;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Active connections: the agent's summaries are stored and shown, a live request reaches the agent through
 * whichever replica holds its stream and its answer comes back over REST, and without an agent to ask the
 * last report is shown with a note saying why.
 */
@SuppressWarnings("unchecked")
class ActiveConnectionsIT {

    private static final long TAKEN = 1_795_000_000_000L;

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();

    @Test
    void aLiveRequestIsAnsweredByTheAgentOnAnotherReplica() throws Exception {
        try (EmbeddedServer second = ApplicationContext.run(EmbeddedServer.class, server.properties())) {
            CertificateAuthority authority = second.getApplicationContext().getBean(CertificateAuthority.class);
            int port = second.getApplicationContext().getBean(AgentGatewayServer.class).port();
            UUID tenant = admin.createTenant("Connections");
            String token = (String) admin.post("/api/v1/tenants/" + tenant + "/enrollment-tokens", Map.of()).map().get("token");
            try (TestAgent agent = new TestAgent(port, authority.certificate())) {
                agent.enroll(token);
                String instance = agent.enrolled().getInstanceId();
                String path = "/api/v1/tenants/" + tenant + "/instances/" + instance + "/connections";
                TestAgent.Stream stream = agent.syncWithHello(List.of());
                await().atMost(Duration.ofSeconds(5)).until(() -> stream.policyUpdates().size() == 1);
                // The hello is stored in the background (InstanceReports batches it): wait until it is, or the
                // live request below would find the instance not connected yet.
                await().atMost(Duration.ofSeconds(5)).until(() -> Boolean.TRUE.equals(
                        admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("connected")));

                assertThat(admin.get(path + "?live=false").map()).containsEntry("live", false)
                        .containsEntry("note", "The agent has not reported its connections yet.");
                // The agent is connected but does not answer (this test agent answers only when told to).
                assertThat(admin.get(path).map()).containsEntry("live", false)
                        .containsEntry("note", "The agent did not answer within 3 s; it has not reported its connections yet.");
                stream.received.removeIf(ControlMessage::hasActiveConnectionsRequest);

                stream.send(AgentMessage.newBuilder().setActiveConnections(summary(0)).build());
                await().atMost(Duration.ofSeconds(5)).until(() -> admin.get(path + "?live=false").map().get("inboundTotal") != null);
                Map<String, Object> stored = admin.get(path + "?live=false").map();
                assertThat(stored).containsEntry("live", false).containsEntry("inboundTotal", 2).containsEntry("outboundTotal", 1)
                        .containsEntry("connections", null);
                assertThat((List<Object>) stored.get("topPorts")).containsExactly(
                        Map.of("direction", "inbound", "protocol", "tcp", "port", 443, "connections", 2));

                // The agent answers the first request it sees; the REST call waits for that answer.
                CompletableFuture<Api.Response> live = CompletableFuture.supplyAsync(() -> admin.get(path + "?limit=2"));
                await().atMost(Duration.ofSeconds(3)).until(() -> request(stream) != null);
                ActiveConnectionsRequest request = request(stream);
                assertThat(request.getLimit()).isEqualTo(2);
                stream.send(AgentMessage.newBuilder().setActiveConnections(summary(request.getRequestId()).toBuilder()
                        .setTruncated(true)
                        .addConnections(connection(Direction.DIRECTION_INBOUND, "198.51.100.10", 443, "203.0.113.7", 51000))
                        .addConnections(connection(Direction.DIRECTION_INBOUND, "2001:db8::1", 443, "2001:db8::7", 51001)))
                        .build());
                Api.Response answer = live.get();
                assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
                assertThat(answer.map()).containsEntry("live", true).containsEntry("truncated", true).containsEntry("note", null);
                assertThat((List<Object>) answer.map().get("connections")).containsExactly(
                        Map.of("direction", "inbound", "protocol", "tcp", "localAddress", "198.51.100.10", "localPort", 443,
                                "remoteAddress", "203.0.113.7", "remotePort", 51000),
                        Map.of("direction", "inbound", "protocol", "tcp", "localAddress", "2001:db8::1", "localPort", 443,
                                "remoteAddress", "2001:db8::7", "remotePort", 51001));

                // A report that makes no sense is dropped; the stream stays up and the stored report stays.
                stream.send(AgentMessage.newBuilder().setActiveConnections(summary(0).toBuilder().setInboundTotal(99)
                        .addTopPorts(PortCount.newBuilder().setDirection(Direction.DIRECTION_INBOUND).setIpProtocol(6).setPort(70_000)))
                        .build());
                stream.send(AgentMessage.newBuilder().setPing(dev.clawfence.proto.agent.v1.Ping.newBuilder().setNonce(7)).build());
                await().atMost(Duration.ofSeconds(3)).until(() -> stream.received.stream().anyMatch(ControlMessage::hasPong));
                assertThat(stream.ended.get()).isNull();
                assertThat(admin.get(path + "?live=false").map()).containsEntry("inboundTotal", 2);

                // Gone: the last report, said so.
                stream.complete();
                await().atMost(Duration.ofSeconds(3)).until(() -> Boolean.FALSE.equals(
                        admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("connected")));
                assertThat(admin.get(path).map()).containsEntry("live", false).containsEntry("truncated", true)
                        .containsEntry("note", "The instance is not connected; this is its last report.");
            }
        }
    }

    @Test
    void badParametersAndForeignInstancesAreNamed() {
        UUID tenant = admin.createTenant("Connections bad input");
        UUID other = admin.createTenant("Connections other");
        CertificateAuthority authority = server.context().getBean(CertificateAuthority.class);
        String token = (String) admin.post("/api/v1/tenants/" + other + "/enrollment-tokens", Map.of()).map().get("token");
        try (TestAgent agent = new TestAgent(server.context().getBean(AgentGatewayServer.class).port(), authority.certificate())) {
            agent.enroll(token);
            String foreign = "/api/v1/tenants/" + tenant + "/instances/" + agent.enrolled().getInstanceId() + "/connections";
            assertThat(admin.get(foreign).status()).isEqualTo(404);
            assertThat(admin.get(foreign + "?live=false").status()).isEqualTo(404);
        }
        String path = "/api/v1/tenants/" + tenant + "/instances/" + UUID.randomUUID() + "/connections";
        assertThat(admin.get(path).status()).isEqualTo(404);
        Api.Response limit = admin.get(path + "?limit=0");
        assertThat(limit.status()).isEqualTo(400);
        assertThat(limit.toString()).contains("limit").contains("1 to 10000");
        Api.Response live = admin.get(path + "?live=maybe");
        assertThat(live.status()).isEqualTo(400);
        assertThat(live.toString()).contains("live").contains("is not true or false");
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/instances/nope/connections").status()).isEqualTo(400);
    }

    private static ActiveConnectionsRequest request(TestAgent.Stream stream) {
        return stream.received.stream().filter(ControlMessage::hasActiveConnectionsRequest)
                .map(ControlMessage::getActiveConnectionsRequest).findFirst().orElse(null);
    }

    private static ActiveConnections summary(long requestId) {
        return ActiveConnections.newBuilder().setRequestId(requestId).setTakenEpochMillis(TAKEN)
                .setInboundTotal(2).setOutboundTotal(1)
                .addTopPorts(PortCount.newBuilder().setDirection(Direction.DIRECTION_INBOUND).setIpProtocol(6).setPort(443).setConnections(2))
                .build();
    }

    private static ActiveConnection connection(Direction direction, String local, int localPort, String remote, int remotePort)
            throws Exception {
        return ActiveConnection.newBuilder().setDirection(direction).setIpProtocol(6)
                .setLocalAddress(ByteString.copyFrom(InetAddress.getByName(local).getAddress())).setLocalPort(localPort)
                .setRemoteAddress(ByteString.copyFrom(InetAddress.getByName(remote).getAddress())).setRemotePort(remotePort)
                .build();
    }
}
