package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.EnrolledAgents;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Kernel rule counters sent on the Sync stream reach the summary as exact attempts. */
class RuleCountersIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    @RegisterExtension
    final EnrolledAgents agents = new EnrolledAgents(server);

    private static AgentMessage counters(Instant end, RuleCount.Builder... counts) {
        RuleCounters.Builder counters = RuleCounters.newBuilder().setFromEpochMillis(end.minusSeconds(10).toEpochMilli())
                .setToEpochMillis(end.toEpochMilli()).setPolicyVersion(1);
        for (RuleCount.Builder count : counts) {
            counters.addCounts(count);
        }
        return AgentMessage.newBuilder().setRuleCounters(counters).build();
    }

    private static RuleCount.Builder count(Direction direction, Verdict verdict, String reason, long attempts) {
        return RuleCount.newBuilder().setDirection(direction).setVerdict(verdict).setReason(reason).setAttempts(attempts);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> attempts(UUID tenant) {
        Map<String, Object> summary = admin.get("/api/v1/tenants/" + tenant + "/network/events/summary").map();
        return ((List<Map<String, Object>>) summary.get("totals")).stream().collect(Collectors.toMap(
                t -> t.get("direction") + " " + t.get("verdict"), t -> String.valueOf(t.get("attempts"))));
    }

    @Test
    void countersAddUpPerDirectionAndVerdictInTheSummary() {
        UUID tenant = admin.createTenant("Counters");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        Instant now = Instant.now();
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/network/events/summary").map().get("attempts"))
                .as("before any counters").isNull();

        stream.send(counters(now.minusSeconds(20),
                count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "not-allowlisted", 12_000),
                count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "port-closed", 400),
                count(Direction.DIRECTION_OUTBOUND, Verdict.VERDICT_ALLOWED, "destination-allowed", 7).setRuleId("out-1")));
        stream.send(counters(now,
                count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "not-allowlisted", 8),
                count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_ALLOWED, "allowlisted", 0)));

        await().atMost(Duration.ofSeconds(5)).until(() -> "12408".equals(attempts(tenant).get("inbound blocked")));
        assertThat(attempts(tenant)).containsEntry("outbound allowed", "7").containsEntry("inbound allowed", "0")
                .containsEntry("outbound blocked", "0");
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/network/events/summary").map())
                .containsEntry("attempts", 12_415).containsEntry("shown", 0)
                .containsEntry("losses", Map.of("spool", 0, "capture", 0, "captureOverruns", 0));
        assertThat(stream.ended.get()).isNull();
    }

    /** What the agents' capture lost reaches the summary, also from a report that counted no attempts. */
    @Test
    void captureLossesShowInTheSummary() {
        UUID tenant = admin.createTenant("Capture losses");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        Instant now = Instant.now();
        AgentMessage lossOnly = counters(now.minusSeconds(30));
        stream.send(lossOnly.toBuilder().setRuleCounters(lossOnly.getRuleCounters().toBuilder()
                .setEventsLostAtCapture(1_200).setCaptureOverruns(3)).build());
        AgentMessage withCounts = counters(now, count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "port-closed", 5));
        stream.send(withCounts.toBuilder().setRuleCounters(withCounts.getRuleCounters().toBuilder()
                .setEventsLostAtCapture(34)).build());

        await().atMost(Duration.ofSeconds(5)).until(() -> Map.of("spool", 0, "capture", 1_234, "captureOverruns", 3)
                .equals(admin.get("/api/v1/tenants/" + tenant + "/network/events/summary").map().get("losses")));
        assertThat(stream.ended.get()).isNull();
    }

    @Test
    void malformedCountersEndTheStreamNamingTheField() {
        UUID tenant = admin.createTenant("Bad counters");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());

        stream.send(counters(Instant.now(), count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "geo", 5),
                count(Direction.DIRECTION_INBOUND, Verdict.VERDICT_BLOCKED, "geo", 1).setVerdictValue(9)));

        await().atMost(Duration.ofSeconds(5)).until(() -> stream.ended.get() != null);
        assertThat(stream.ended.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(stream.ended.get().getDescription())
                .contains("rule_counters.counts[1].verdict: 9 is not a known verdict");
        assertThat(attempts(tenant).get("inbound blocked")).as("nothing of the message stored").isEqualTo("null");
    }
}
