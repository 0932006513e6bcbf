package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.EnrolledAgents;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventAck;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.ProtocolVersion;
import dev.clawfence.proto.agent.v1.Verdict;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** UploadEvents over real mutual-TLS gRPC into the real event store: acks, order, attribution, refusals. */
class UploadEventsIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    @RegisterExtension
    final EnrolledAgents agents = new EnrolledAgents(server);

    /** Acks and the end of one upload stream. */
    private static final class Acks implements StreamObserver<EventAck> {
        final List<Long> marks = new CopyOnWriteArrayList<>();
        final AtomicReference<Status> ended = new AtomicReference<>();

        @Override
        public void onNext(EventAck ack) {
            marks.add(ack.getStoredThroughSequence());
        }

        @Override
        public void onError(Throwable t) {
            ended.set(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.set(Status.OK);
        }
    }

    private static ConnectionEvent event(long sequence, String source, String reason, Verdict verdict) {
        return ConnectionEvent.newBuilder()
                .setSequence(sequence)
                .setTimeEpochMicros(ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now().minusSeconds(5)))
                .setDirection(Direction.DIRECTION_INBOUND)
                .setVerdict(verdict)
                .setIpProtocol(6)
                .setSourceAddress(address(source))
                .setSourcePort(40000)
                .setDestinationAddress(address(source.contains(":") ? "2001:db8:ffff::10" : "192.0.2.10"))
                .setDestinationPort(443)
                .setReason(reason)
                .setInterface("eth0")
                .build();
    }

    private static EventBatch blocked(long first, long last) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (long seq = first; seq <= last; seq++) {
            batch.addEvents(event(seq, "198.51.100." + (seq % 200 + 1), "not-allowlisted", Verdict.VERDICT_BLOCKED));
        }
        return batch.build();
    }

    private static ByteString address(String text) {
        try {
            return ByteString.copyFrom(InetAddress.getByName(text).getAddress());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void pipelinedBatchesAreStoredOnceAndAckedInOrder() throws SQLException {
        UUID tenant = admin.createTenant("Uploads in order");
        TestAgent agent = agents.enroll(tenant);
        UUID instance = UUID.fromString(agent.enrolled().getInstanceId());
        Acks acks = new Acks();
        StreamObserver<EventBatch> upload = agent.uploadEvents(acks);

        // Four batches without waiting, the third a retry overlapping the second.
        upload.onNext(blocked(1, 100));
        upload.onNext(blocked(101, 250));
        upload.onNext(blocked(200, 300));
        upload.onNext(blocked(301, 301));
        await().atMost(Duration.ofSeconds(10)).until(() -> acks.marks.size() == 4 || acks.ended.get() != null);

        assertThat(acks.ended.get()).isNull();
        assertThat(acks.marks).containsExactly(100L, 250L, 300L, 301L);
        assertThat(query(tenant, "select count(*), count(distinct sequence) from connection_events where instance_id = ?", instance))
                .containsExactly(301L, 301L);
        upload.onCompleted();
        await().atMost(Duration.ofSeconds(5)).until(() -> acks.ended.get() != null);
        assertThat(acks.ended.get().getCode()).isEqualTo(Status.Code.OK);
    }

    @Test
    void anAllowlistedEventNamesTheEntryOfTheVersionTheHostEnforces() throws SQLException {
        UUID tenant = admin.createTenant("Uploads attributed");
        int enforced = putPolicy(tenant, "in-enforced");
        putPolicy(tenant, "in-newer");
        TestAgent agent = agents.enroll(tenant);
        UUID instance = UUID.fromString(agent.enrolled().getInstanceId());
        TestAgent.Stream sync = agent.sync(false);
        sync.send(AgentMessage.newBuilder().setHello(AgentHello.newBuilder().setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setAgentVersion("0.1.0-test").setAppliedPolicyVersion(enforced)).build());
        await().atMost(Duration.ofSeconds(5)).until(() ->
                Integer.valueOf(enforced).equals(admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("appliedPolicyVersion")));
        Acks acks = new Acks();

        agent.uploadEvents(acks).onNext(EventBatch.newBuilder()
                .addEvents(event(1, "203.0.113.5", "allowlisted", Verdict.VERDICT_ALLOWED))
                .addEvents(event(2, "198.51.100.5", "not-allowlisted", Verdict.VERDICT_BLOCKED))
                .addEvents(event(3, "2001:db8:1::5", "allowlisted", Verdict.VERDICT_ALLOWED))
                .build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !acks.marks.isEmpty() || acks.ended.get() != null);

        assertThat(acks.ended.get()).isNull();
        assertThat(acks.marks).containsExactly(3L);
        assertThat(ruleIds(tenant, instance)).containsExactly("1:in-enforced", "2:", "3:in-enforced-v6");
        sync.complete();
    }

    @Test
    void aBatchThatBreaksTheContractEndsTheStreamNamingTheField() throws SQLException {
        UUID tenant = admin.createTenant("Uploads refused");
        TestAgent agent = agents.enroll(tenant);
        UUID instance = UUID.fromString(agent.enrolled().getInstanceId());
        Acks acks = new Acks();

        agent.uploadEvents(acks).onNext(EventBatch.newBuilder()
                .addEvents(event(1, "198.51.100.1", "not-allowlisted", Verdict.VERDICT_BLOCKED).toBuilder().setSourceAddress(ByteString.copyFrom(new byte[3])))
                .build());
        await().atMost(Duration.ofSeconds(10)).until(() -> acks.ended.get() != null);

        assertThat(acks.ended.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(acks.ended.get().getDescription()).contains("events[0].source_address");
        assertThat(query(tenant, "select count(*), 0 from connection_events where instance_id = ?", instance)).containsExactly(0L, 0L);
    }

    @Test
    void revokingTheInstanceClosesItsUploadStream() {
        UUID tenant = admin.createTenant("Uploads revoked");
        TestAgent agent = agents.enroll(tenant);
        UUID instance = UUID.fromString(agent.enrolled().getInstanceId());
        Acks acks = new Acks();
        StreamObserver<EventBatch> upload = agent.uploadEvents(acks);
        upload.onNext(blocked(1, 10));
        await().atMost(Duration.ofSeconds(10)).until(() -> !acks.marks.isEmpty());

        assertThat(admin.post("/api/v1/tenants/" + tenant + "/instances/" + instance + "/revoke", null).status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(5)).until(() -> acks.ended.get() != null);

        assertThat(acks.ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(acks.ended.get().getDescription()).contains("revoked");
    }

    private int putPolicy(UUID tenant, String entryId) {
        Map<String, Object> policy = Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "off"),
                "inbound", Map.of(
                        "allowlist", List.of(
                                Map.of("id", entryId, "cidr", "203.0.113.0/24", "description", "office", "requestedBy", "ann@example.com"),
                                Map.of("id", entryId + "-v6", "cidr", "2001:db8::/32", "description", "office v6", "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https"))));
        int version = (int) admin.get("/api/v1/tenants/" + tenant + "/network/policy").map().get("version");
        Api.Response saved = admin.put("/api/v1/tenants/" + tenant + "/network/policy", Map.of("message", "test", "policy", policy),
                Map.of("If-Match", "\"" + version + "\""));
        assertThat(saved.status()).isEqualTo(200);
        return (int) saved.map().get("version");
    }

    private List<String> ruleIds(UUID tenant, UUID instance) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = tenantConnection(tenant);
                PreparedStatement s = c.prepareStatement(
                        "select sequence, coalesce(rule_id, '') from connection_events where instance_id = ? order by sequence")) {
            s.setObject(1, instance);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1) + ":" + rs.getString(2));
                }
            }
        }
        return out;
    }

    private List<Long> query(UUID tenant, String sql, UUID instance) throws SQLException {
        try (Connection c = tenantConnection(tenant); PreparedStatement s = c.prepareStatement(sql)) {
            s.setObject(1, instance);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return List.of(rs.getLong(1), rs.getLong(2));
            }
        }
    }

    private Connection tenantConnection(UUID tenant) throws SQLException {
        Connection c = server.appConnection();
        try (PreparedStatement s = c.prepareStatement("select set_config('clawfence.tenant_id', ?, false)")) {
            s.setString(1, tenant.toString());
            s.execute();
        }
        return c;
    }
}
