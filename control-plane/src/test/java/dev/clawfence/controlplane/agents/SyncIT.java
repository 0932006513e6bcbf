package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.EnrolledAgents;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.DriftReport;
import dev.clawfence.proto.agent.v1.Mode;
import dev.clawfence.proto.agent.v1.Ping;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.RenewRequest;
import dev.clawfence.proto.agent.v1.ScheduledPolicy;
import dev.clawfence.proto.agent.v1.SetRef;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Sync stream over real mutual TLS gRPC, with policy fan-out through PostgreSQL LISTEN/NOTIFY. */
class SyncIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    private final AgentGatewayServer gateway = server.context().getBean(AgentGatewayServer.class);
    @RegisterExtension
    final EnrolledAgents agents = new EnrolledAgents(server);

    private static PolicyUpdate awaitUpdate(TestAgent.Stream stream, int count) {
        await().atMost(Duration.ofSeconds(5)).until(() -> stream.policyUpdates().size() >= count || stream.ended.get() != null);
        assertThat(stream.ended.get()).as("stream ended early").isNull();
        return stream.policyUpdates().get(count - 1).getPolicyUpdate();
    }

    private static Map<String, Object> policyAllowing(String cidr) {
        return Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "monitor"),
                "inbound", Map.of(
                        "allowlist", List.of(Map.of("cidr", cidr, "description", "office", "requestedBy", "ann@example.com")),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "geo", Map.of("mode", "none", "countries", List.of())),
                "outbound", Map.of(
                        "destinations", List.of(),
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                        "defaultAction", "allow"),
                "tests", List.of());
    }

    private Api.Response putPolicy(UUID tenant, Map<String, Object> policy) {
        int version = (int) admin.get("/api/v1/tenants/" + tenant + "/network/policy").map().get("version");
        return admin.put("/api/v1/tenants/" + tenant + "/network/policy", Map.of("message", "test", "policy", policy),
                Map.of("If-Match", "\"" + version + "\""));
    }

    @Test
    void helloIsAnsweredWithTheCurrentPolicy() {
        UUID tenant = admin.createTenant("Hello");
        TestAgent agent = agents.enroll(tenant);

        TestAgent.Stream stream = agent.syncWithHello(List.of());
        PolicyUpdate update = awaitUpdate(stream, 1);

        assertThat(update.getVersion()).isEqualTo(1);
        assertThat(update.getPolicy().getSetsList()).isNotEmpty();
        assertThat(update.getSetsList().stream().map(CompiledSet::getHash).collect(Collectors.toSet()))
                .isEqualTo(update.getPolicy().getSetsList().stream().map(SetRef::getHash).collect(Collectors.toSet()));
        await().atMost(Duration.ofSeconds(2)).until(() ->
                Boolean.TRUE.equals(admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("connected")));
        Map<String, Object> instance = admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
        assertThat((Map<String, Object>) instance.get("hostFacts")).containsEntry("backend", "nftables");
        assertThat(instance).containsEntry("hostname", "web-1").containsEntry("currentPolicyVersion", 1);

        stream.complete();
        await().atMost(Duration.ofSeconds(2)).until(() ->
                Boolean.FALSE.equals(admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("connected")));
    }

    @Test
    void theUpdateStreamsShareIsEncodedOnceAndSyncWritesItsResponsesThroughThatEncoding() {
        UUID tenant = admin.createTenant("Encoded once");
        PolicyUpdate received = awaitUpdate(agents.enroll(tenant).syncWithHello(List.of()), 1);
        EncodedOnce encoded = server.context().getBean(EncodedOnce.class);
        PolicyDistribution.Compiled compiled = server.context().getBean(PolicyDistribution.class).current(tenant);

        ControlMessage shared = server.context().getBean(SyncSession.Factory.class)
                .update(tenant, compiled, List.copyOf(compiled.wire().sets()));

        assertThat(shared.getPolicyUpdate()).isEqualTo(received);
        assertThat(encoded.isShared(shared)).isTrue();
        assertThat(gateway.syncMethod().getResponseMarshaller()).isSameAs(encoded);
    }

    @Test
    void setsTheAgentHoldsAreNotSent() {
        UUID tenant = admin.createTenant("Known sets");
        TestAgent agent = agents.enroll(tenant);
        TestAgent.Stream first = agent.syncWithHello(List.of());
        List<String> hashes = awaitUpdate(first, 1).getSetsList().stream().map(CompiledSet::getHash).toList();

        TestAgent.Stream second = agent.syncWithHello(hashes);

        assertThat(awaitUpdate(second, 1).getSetsList()).isEmpty();
        assertThat(awaitUpdate(second, 1).getPolicy().getSetsCount()).isEqualTo(first.policyUpdates().getFirst()
                .getPolicyUpdate().getPolicy().getSetsCount());
    }

    @Test
    void aSavedPolicyReachesConnectedAgentsOfItsTenantOnly() {
        UUID tenant = admin.createTenant("Fan-out");
        UUID other = admin.createTenant("Bystander");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        TestAgent.Stream bystander = agents.enroll(other).syncWithHello(List.of());
        PolicyUpdate initial = awaitUpdate(stream, 1);
        awaitUpdate(bystander, 1);

        assertThat(putPolicy(tenant, policyAllowing("198.51.100.0/24")).status()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(1)).until(() -> stream.policyUpdates().size() >= 2);
        PolicyUpdate update = stream.policyUpdates().get(1).getPolicyUpdate();
        assertThat(update.getVersion()).isEqualTo(2);
        assertThat(update.getPolicy().getInboundMode()).isEqualTo(Mode.MODE_ENFORCE);
        assertThat(update.getPolicy().getAllowlistActive()).isTrue();
        // Only sets whose content changed travel again; the others are named by hash only.
        Set<String> sentBefore = initial.getSetsList().stream().map(CompiledSet::getHash).collect(Collectors.toSet());
        assertThat(update.getSetsList()).isNotEmpty()
                .allSatisfy(set -> assertThat(sentBefore).doesNotContain(set.getHash()));
        assertThat(update.getSetsCount()).isLessThan(update.getPolicy().getSetsCount());
        CompiledSet allow4 = update.getSetsList().stream().filter(s -> s.getName().equals("allow4")).findFirst().orElseThrow();
        assertThat(allow4.getBoxes(0).getAddresses().getFirst().toByteArray()).containsExactly(198, 51, 100, 0);
        assertThat(allow4.getBoxes(0).getAddresses().getLast().toByteArray()).containsExactly(198, 51, 100, 255);

        // The bystander answers a round trip after the save and has still seen only its first update.
        bystander.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(7)).build());
        await().atMost(Duration.ofSeconds(2)).until(() -> bystander.received.stream().anyMatch(m -> m.hasPong()));
        assertThat(bystander.policyUpdates()).hasSize(1);
    }

    @Test
    void aLapsingAllowlistEntryIsRecompiledAndSentAgain() {
        UUID tenant = admin.createTenant("Lapsing");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        awaitUpdate(stream, 1);
        Map<String, Object> policy = new java.util.HashMap<>(policyAllowing("203.0.113.0/24"));
        policy.put("inbound", Map.of(
                "allowlist", List.of(Map.of("cidr", "203.0.113.0/24", "description", "contractor",
                        "requestedBy", "ann@example.com",
                        "expiresAt", java.time.Instant.now().plusSeconds(3).toString())),
                "ports", List.of(),
                "geo", Map.of("mode", "none", "countries", List.of())));

        Api.Response saved = putPolicy(tenant, policy);

        assertThat(saved.status()).as(saved.toString()).isEqualTo(200);
        PolicyUpdate active = awaitUpdate(stream, 2);
        assertThat(active.getPolicy().getAllowlistActive()).isTrue();
        assertThat(active.getPolicy().getValidUntilEpochMillis()).isPositive();
        assertThat(active.getScheduledCount()).isEqualTo(1);
        assertThat(active.getScheduled(0).getEffectiveFromEpochMillis()).isEqualTo(active.getPolicy().getValidUntilEpochMillis());
        assertThat(active.getScheduled(0).getPolicy().getAllowlistActive()).isFalse();
        await().atMost(Duration.ofSeconds(8)).until(() -> stream.policyUpdates().size() >= 3);
        PolicyUpdate lapsed = stream.policyUpdates().get(2).getPolicyUpdate();
        assertThat(lapsed.getVersion()).isEqualTo(2);
        assertThat(lapsed.getPolicy().getAllowlistActive()).isFalse();
        assertThat(lapsed.getPolicy().getValidUntilEpochMillis()).isZero();
        assertThat(lapsed.getScheduledList()).isEmpty();
        assertThat(lapsed.getPolicy()).isEqualTo(active.getScheduled(0).getPolicy());
    }

    @Test
    void anUpdateCarriesTheExpiryScheduleWithEachSetOnce() {
        UUID tenant = admin.createTenant("Scheduled");
        TestAgent agent = agents.enroll(tenant);
        TestAgent.Stream stream = agent.syncWithHello(List.of());
        PolicyUpdate first = awaitUpdate(stream, 1);
        java.time.Instant now = java.time.Instant.now();
        java.time.Instant soon = now.plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        java.time.Instant later = now.plus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        Map<String, Object> policy = new java.util.HashMap<>(policyAllowing("203.0.113.0/24"));
        policy.put("inbound", Map.of(
                "allowlist", List.of(
                        Map.of("cidr", "203.0.113.0/24", "description", "office", "requestedBy", "ann@example.com"),
                        Map.of("cidr", "198.51.100.7/32", "description", "contractor", "requestedBy", "ann@example.com",
                                "expiresAt", soon.toString()),
                        Map.of("cidr", "198.51.100.8/32", "description", "auditor", "requestedBy", "ann@example.com",
                                "expiresAt", later.toString()),
                        Map.of("cidr", "2001:db8::/64", "description", "lab", "requestedBy", "ann@example.com",
                                "expiresAt", later.toString())),
                "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "https")),
                "geo", Map.of("mode", "none", "countries", List.of())));

        assertThat(putPolicy(tenant, policy).status()).isEqualTo(200);

        PolicyUpdate update = awaitUpdate(stream, 2);
        assertThat(update.getPolicy().getValidUntilEpochMillis()).isEqualTo(soon.toEpochMilli());
        assertThat(update.getScheduledList()).extracting(ScheduledPolicy::getEffectiveFromEpochMillis)
                .containsExactly(soon.toEpochMilli(), later.toEpochMilli());
        assertThat(update.getScheduled(0).getPolicy().getValidUntilEpochMillis()).isEqualTo(later.toEpochMilli());
        assertThat(update.getScheduled(1).getPolicy().getValidUntilEpochMillis()).isZero();
        assertThat(update.getScheduled(1).getPolicy().getAllowlistActive()).isTrue();
        // Every set named anywhere is sent now or was sent before; none travels twice on this stream.
        Set<String> sentBefore = first.getSetsList().stream().map(CompiledSet::getHash).collect(Collectors.toSet());
        List<String> sentNow = update.getSetsList().stream().map(CompiledSet::getHash).toList();
        assertThat(sentNow).doesNotHaveDuplicates().allSatisfy(hash -> assertThat(sentBefore).doesNotContain(hash));
        Set<String> named = new java.util.HashSet<>(update.getPolicy().getSetsList().stream().map(SetRef::getHash).toList());
        update.getScheduledList().forEach(step -> step.getPolicy().getSetsList().forEach(ref -> named.add(ref.getHash())));
        Set<String> held = new java.util.HashSet<>(sentBefore);
        held.addAll(sentNow);
        assertThat(held).containsAll(named);
        // The steps differ from the main policy in the allowlist sets only; the emptied v6 sets have the
        // content (and so the hash) of sets already held, such as the empty dest6, and are not sent again.
        Set<String> mainHashes = update.getPolicy().getSetsList().stream().map(SetRef::getHash).collect(Collectors.toSet());
        assertThat(update.getScheduled(1).getPolicy().getSetsList()).filteredOn(ref -> !mainHashes.contains(ref.getHash()))
                .extracting(SetRef::getName).containsExactlyInAnyOrder("allow4", "allow4_addrs");
        assertThat(hash(update.getScheduled(1).getPolicy(), "allow6")).isEqualTo(hash(update.getPolicy(), "dest6"))
                .isNotEqualTo(hash(update.getPolicy(), "allow6"));

        // The agent switches at each step and reports APPLIED again for the same version: the last report wins.
        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(2)
                .setOutcome(ApplyResult.Outcome.APPLIED).setRulesetHash("aa11")).build());
        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(2)
                .setOutcome(ApplyResult.Outcome.APPLIED).setRulesetHash("bb22")).build());
        await().atMost(Duration.ofSeconds(2)).until(() -> "bb22".equals(
                admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("rulesetHash")));
        Map<String, Object> instance = admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
        assertThat(instance).containsEntry("applyOutcome", "APPLIED").containsEntry("appliedPolicyVersion", 2);
        assertThat(stream.ended.get()).isNull();
    }

    private static String hash(dev.clawfence.proto.agent.v1.CompiledPolicy policy, String set) {
        return policy.getSetsList().stream().filter(ref -> ref.getName().equals(set)).findFirst().orElseThrow().getHash();
    }

    @Test
    void aHelloWithoutAKnownProtocolVersionIsRefusedNamingTheVersionsSpoken() {
        TestAgent agent = agents.enroll(admin.createTenant("Old or new"));
        for (int version : new int[] {0, 2, 99}) {
            TestAgent.Stream stream = agent.sync(false);
            stream.send(AgentMessage.newBuilder().setHello(AgentHello.newBuilder().setProtocolVersionValue(version)
                    .setAgentVersion("9.9.9")).build());

            await().atMost(Duration.ofSeconds(2)).until(() -> stream.ended.get() != null);
            assertThat(stream.ended.get().getCode()).as("version %d", version).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(stream.ended.get().getDescription()).contains("protocol_version")
                    .contains(version == 0 ? "unspecified" : version + " is unknown")
                    .contains("speaks protocol version 1");
            assertThat(stream.policyUpdates()).isEmpty();
        }
        assertThat(admin.get("/api/v1/tenants/" + agent.enrolled().getTenantId() + "/instances").list().getFirst().get("agentVersion"))
                .isNotEqualTo("9.9.9");
    }

    @Test
    void pingIsAnsweredWithPong() {
        TestAgent.Stream stream = agents.enroll(admin.createTenant("Ping")).syncWithHello(List.of());
        awaitUpdate(stream, 1);

        stream.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(42)).build());

        await().atMost(Duration.ofSeconds(2)).until(() -> stream.received.stream().anyMatch(m -> m.hasPong()));
        assertThat(stream.received.stream().filter(m -> m.hasPong()).findFirst().orElseThrow().getPong().getNonce())
                .isEqualTo(42);
    }

    @Test
    void applyResultsAndDriftShowUpInTheInstanceList() {
        UUID tenant = admin.createTenant("Reports");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        awaitUpdate(stream, 1);

        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(1)
                .setOutcome(ApplyResult.Outcome.ROLLED_BACK).setReason("control plane unreachable").setRulesetHash("ab12"))
                .build());
        stream.send(AgentMessage.newBuilder().setDrift(DriftReport.newBuilder().setDetail("chain input changed")
                .setRestored(true)).build());

        await().atMost(Duration.ofSeconds(2)).until(() ->
                admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("drift") != null);
        Map<String, Object> instance = admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
        assertThat(instance).containsEntry("applyOutcome", "ROLLED_BACK")
                .containsEntry("applyReason", "control plane unreachable")
                .containsEntry("applyVersion", 1)
                .containsEntry("appliedPolicyVersion", null)
                .containsEntry("rulesetHash", "ab12");
        assertThat((String) ((Map<String, Object>) instance.get("drift")).get("detail")).startsWith("chain input changed");
        List<String> actions = ((List<Map<String, Object>>) admin.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items")).stream().map(e -> (String) e.get("action")).toList();
        assertThat(actions).contains("instance.enroll", "instance.apply-rolled-back");

        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(1)
                .setOutcome(ApplyResult.Outcome.APPLIED)).build());
        await().atMost(Duration.ofSeconds(2)).until(() -> "APPLIED".equals(
                admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("applyOutcome")));
    }

    @Test
    void aFailureReportedRightAfterASuccessIsWhatTheInstanceShows() {
        // Apply results are written in batches; the batch must not put an older APPLIED over a newer FAILED.
        UUID tenant = admin.createTenant("Report order");
        TestAgent.Stream stream = agents.enroll(tenant).syncWithHello(List.of());
        awaitUpdate(stream, 1);

        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(1)
                .setOutcome(ApplyResult.Outcome.APPLIED).setRulesetHash("aa11")).build());
        stream.send(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder().setPolicyVersion(1)
                .setOutcome(ApplyResult.Outcome.FAILED).setReason("nft: table too large").setRulesetHash("bb22")).build());
        stream.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(7)).build());

        await().atMost(Duration.ofSeconds(2)).until(() -> stream.received.stream().anyMatch(m -> m.hasPong()));
        await().atMost(Duration.ofSeconds(2)).until(() ->
                "FAILED".equals(admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("applyOutcome")));
        // and stays so for two flush periods: nothing written behind overtakes it.
        await().during(Duration.ofMillis(2 * InstanceReports.FLUSH_MILLIS)).atMost(Duration.ofSeconds(2)).until(() ->
                "FAILED".equals(admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst().get("applyOutcome")));
        Map<String, Object> instance = admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
        assertThat(instance).containsEntry("rulesetHash", "bb22").containsEntry("applyReason", "nft: table too large");
        List<Map<String, Object>> audit = (List<Map<String, Object>>) admin.get("/api/v1/tenants/" + tenant + "/audit")
                .map().get("items");
        assertThat(audit).filteredOn(e -> "instance.apply-failed".equals(e.get("action")))
                .singleElement().satisfies(e -> assertThat((Map<String, Object>) e.get("actor")).containsEntry("kind", "agent"));
    }

    @Test
    void theFirstMessageMustBeHello() {
        TestAgent agent = agents.enroll(admin.createTenant("Rude"));
        TestAgent.Stream stream = agent.sync(false);

        stream.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(1)).build());

        await().atMost(Duration.ofSeconds(2)).until(() -> stream.ended.get() != null);
        assertThat(stream.ended.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(stream.ended.get().getDescription()).contains("hello");
    }

    @Test
    void syncWithoutAClientCertificateIsRefused() {
        TestAgent agent = agents.enroll(admin.createTenant("Anonymous"));
        TestAgent.Stream stream = agent.sync(true);

        stream.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(1)).build());

        await().atMost(Duration.ofSeconds(2)).until(() -> stream.ended.get() != null);
        assertThat(stream.ended.get().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(stream.ended.get().getDescription()).contains("client certificate");
    }

    @Test
    void revokingAnInstanceClosesItsStreamAndRefusesNewCalls() {
        UUID tenant = admin.createTenant("Revoked");
        TestAgent agent = agents.enroll(tenant);
        TestAgent.Stream stream = agent.syncWithHello(List.of());
        awaitUpdate(stream, 1);
        String instance = agent.enrolled().getInstanceId();
        Api viewer = admin.mintToken(tenant, "viewer");
        assertThat(viewer.post("/api/v1/tenants/" + tenant + "/instances/" + instance + "/revoke", null).status())
                .isEqualTo(403);
        assertThat(viewer.get("/api/v1/tenants/" + tenant + "/instances").list()).hasSize(1);
        Api stranger = admin.mintToken(admin.createTenant("Stranger"), "owner");
        assertThat(stranger.get("/api/v1/tenants/" + tenant + "/instances").status()).isEqualTo(404);
        assertThat(stranger.post("/api/v1/tenants/" + tenant + "/instances/" + instance + "/revoke", null).status())
                .isEqualTo(404);

        assertThat(admin.post("/api/v1/tenants/" + tenant + "/instances/" + instance + "/revoke", null).status())
                .isEqualTo(204);

        await().atMost(Duration.ofSeconds(2)).until(() -> stream.ended.get() != null);
        assertThat(stream.ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThatThrownBy(() -> agent.authenticated().renew(RenewRequest.newBuilder()
                .setCsrDer(ByteString.copyFrom(agent.csr())).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("revoked");
                });
        Map<String, Object> listed = admin.get("/api/v1/tenants/" + tenant + "/instances").list().getFirst();
        assertThat(listed.get("revokedAt")).isNotNull();
        assertThat(listed).containsEntry("connected", false);
        assertThat(admin.post("/api/v1/tenants/" + admin.createTenant("Elsewhere") + "/instances/" + instance + "/revoke",
                null).status()).isEqualTo(404);
    }
}
