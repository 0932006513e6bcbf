package dev.clawfence.agent.sync;

import dev.clawfence.agent.connections.ConnectionTable;
import dev.clawfence.agent.connections.HostConnection;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.ActiveConnectionsRequest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.agent.enforce.Enforcer;
import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.Pong;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Sync stream against a scripted control plane (in-process gRPC, no network; TLS is covered by
 * EnrolmentIT): hello, updates applied commit-confirmed with Ping/Pong, rollbacks reported and tried
 * again once the gateway answers (not in a loop), and sets the agent holds need not be sent again.
 */
class SyncClientTest {

    @TempDir
    Path state;

    private final BlockingQueue<AgentMessage> received = new LinkedBlockingQueue<>();
    /** Every ApplyResult the gateway got, with the time it got it. */
    private final List<Timed> results = new CopyOnWriteArrayList<>();
    private final AtomicInteger pings = new AtomicInteger();
    private volatile StreamObserver<ControlMessage> toAgent;
    private volatile boolean answerPings = true;
    /** Drops everything the agent sends, as a stream whose path is gone would. */
    private volatile boolean deaf;
    /** The hash of a ruleset that cuts the host off from the gateway while it is in force, if any. */
    private volatile String cutsOff;
    /** What the agent's enforcer put in force last (see {@link #enforcer()}). */
    private volatile String inForce = "";

    private record Timed(ApplyResult result, long nanos) {}
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void gateway() throws Exception {
        String name = UUID.randomUUID().toString();
        server = InProcessServerBuilder.forName(name).addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
            @Override
            public StreamObserver<AgentMessage> sync(StreamObserver<ControlMessage> responses) {
                toAgent = responses;
                return new StreamObserver<>() {
                    @Override
                    public void onNext(AgentMessage message) {
                        if (deaf) {
                            return;
                        }
                        if (message.hasApplyResult()) {
                            results.add(new Timed(message.getApplyResult(), System.nanoTime()));
                        }
                        if (message.hasPing()) {
                            pings.incrementAndGet();
                        }
                        if (message.hasPing() && answerPings && !inForce.equals(cutsOff)) {
                            synchronized (responses) {
                                responses.onNext(ControlMessage.newBuilder().setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
                            }
                        }
                        received.add(message);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                };
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    private void send(PolicyUpdate update) {
        synchronized (toAgent) {
            toAgent.onNext(ControlMessage.newBuilder().setPolicyUpdate(update).build());
        }
    }

    private AgentMessage next() throws InterruptedException {
        AgentMessage message = received.poll(10, TimeUnit.SECONDS);
        assertThat(message).as("a message from the agent").isNotNull();
        return message;
    }

    private ApplyResult nextResult() throws InterruptedException {
        for (AgentMessage message = next(); ; message = next()) {
            if (message.hasApplyResult()) {
                return message.getApplyResult();
            }
        }
    }

    @Test
    void updatesAreAppliedCommitConfirmedAndReported() throws Exception {
        Store store = new Store(state);
        Agent agent = new Agent(new DryRunEnforcer(line -> {}), store, new Agent.Settings(Duration.ofHours(1), Duration.ofMillis(300)),
                Clock.systemUTC(), System.out::println);
        agent.start();
        SyncClient client = new SyncClient(channel, agent, store, Map.of("backend", "dry-run"), "test", System.out::println);
        Thread session = Thread.ofVirtual().start(() -> {
            try {
                client.session();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });

        AgentMessage hello = next();
        assertThat(hello.hasHello()).isTrue();
        assertThat(hello.getHello().getAppliedPolicyVersion()).isZero();
        assertThat(hello.getHello().getHostFactsMap()).containsEntry("backend", "dry-run");

        PolicyUpdate first = TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32"));
        send(first);
        ApplyResult applied = nextResult();
        assertThat(applied.getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);
        assertThat(applied.getPolicyVersion()).isEqualTo(1);
        assertThat(applied.getRulesetHash()).hasSize(64);

        answerPings = false;
        send(TestPolicies.update(2, TestPolicies.inbound("203.0.113.66/32")));
        ApplyResult rolledBack = nextResult();
        assertThat(rolledBack.getOutcome()).isEqualTo(ApplyResult.Outcome.ROLLED_BACK);
        assertThat(rolledBack.getReason()).contains("300 ms");
        assertThat(rolledBack.getRulesetHash()).isEqualTo(applied.getRulesetHash());

        answerPings = true;
        PolicyUpdate third = TestPolicies.update(3, TestPolicies.inbound("203.0.113.2/32", "198.51.100.0/24"));
        PolicyUpdate onlyNewSets = third.toBuilder().clearSets()
                .addAllSets(third.getSetsList().stream().filter(set -> store.set(set.getHash()).value().isEmpty()).toList())
                .build();
        assertThat(onlyNewSets.getSetsCount()).isLessThan(third.getSetsCount());
        send(onlyNewSets);
        assertThat(nextResult().getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);
        assertThat(store.lastApplied().value().orElseThrow()).isEqualTo(third);

        synchronized (toAgent) {
            toAgent.onCompleted();
        }
        session.join(Duration.ofSeconds(5));
        assertThat(session.isAlive()).isFalse();
        agent.close();

        // A restarted agent says what it enforces and which sets it holds.
        Agent restarted = new Agent(new DryRunEnforcer(line -> {}), store, Agent.Settings.DEFAULT, Clock.systemUTC(), System.out::println);
        restarted.start();
        Thread again = Thread.ofVirtual().start(() -> {
            try {
                new SyncClient(channel, restarted, store, Map.of(), "test", System.out::println).session();
            } catch (Exception e) {
                // ended by the test
            }
        });
        AgentMessage secondHello = next();
        assertThat(secondHello.getHello().getAppliedPolicyVersion()).isEqualTo(3);
        assertThat(secondHello.getHello().getKnownSetHashesList()).containsAll(third.getSetsList().stream().map(set -> set.getHash()).toList());
        synchronized (toAgent) {
            toAgent.onCompleted();
        }
        again.join(Duration.ofSeconds(5));
        restarted.close();
    }

    // ------------------------------------------------------------ retrying a rolled-back version (issue 3)

    private static final Duration DEADLINE = Duration.ofMillis(300);

    /** The dry-run enforcer, telling the gateway which ruleset is in force (so that one can cut the host off). */
    private Enforcer enforcer() {
        DryRunEnforcer dryRun = new DryRunEnforcer(line -> {});
        return new Enforcer() {
            @Override
            public String backend() {
                return dryRun.backend();
            }

            @Override
            public AppliedRuleset apply(CompiledPolicy policy) throws EnforceException {
                AppliedRuleset ruleset = dryRun.apply(policy);
                inForce = ruleset.sha256();
                return ruleset;
            }

            @Override
            public void restore(AppliedRuleset previous) {
                inForce = previous == null ? "" : previous.sha256();
            }

            @Override
            public Optional<String> checkDrift() {
                return Optional.empty();
            }

            @Override
            public void remove() {
                inForce = "";
            }
        };
    }

    private Agent fastAgent(Store store) {
        Agent agent = new Agent(enforcer(), store, new Agent.Settings(Duration.ofHours(1), DEADLINE), Clock.systemUTC(), System.out::println);
        agent.start();
        return agent;
    }

    private Thread session(SyncClient client) throws InterruptedException {
        Thread session = Thread.ofVirtual().start(() -> {
            try {
                client.session();
            } catch (Exception e) {
                // ended by the test
            }
        });
        assertThat(next().hasHello()).isTrue();
        return session;
    }

    private void endSession(Thread session) throws InterruptedException {
        synchronized (toAgent) {
            toAgent.onCompleted();
        }
        session.join(Duration.ofSeconds(5));
        assertThat(session.isAlive()).isFalse();
    }

    private Timed awaitResult(int index) {
        await().atMost(Duration.ofSeconds(10)).until(() -> results.size() > index);
        return results.get(index);
    }

    private static String hashOf(CompiledPolicy policy) throws EnforceException {
        return new DryRunEnforcer(line -> {}).apply(policy).sha256();
    }

    /**
     * Issue 3: "a version after whose push the host loses its path to the control plane ... is rolled
     * back within the deadline, and the control plane shows ROLLED_BACK once the path is back". The cut
     * may have been transient, so the version is tried again, but only once the control plane answers.
     */
    @Test
    void aVersionRolledBackForALostPathIsTriedAgainOnceTheControlPlaneAnswers() throws Exception {
        Store store = new Store(state);
        Agent agent = fastAgent(store);
        Thread session = session(new SyncClient(channel, agent, store, Map.of(), "test", System.out::println));
        send(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")));
        assertThat(awaitResult(0).result().getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);

        answerPings = false;
        send(TestPolicies.update(2, TestPolicies.inbound("203.0.113.66/32")));
        ApplyResult rolledBack = awaitResult(1).result();
        assertThat(rolledBack.getOutcome()).isEqualTo(ApplyResult.Outcome.ROLLED_BACK);
        assertThat(rolledBack.getPolicyVersion()).isEqualTo(2);
        int pingsAtRollback = pings.get();

        // While the control plane stays silent, the version is not tried again; the agent keeps asking,
        // one Ping per deadline.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> results.size() == 2);
        assertThat(pings.get() - pingsAtRollback).isBetween(2, 8);
        assertThat(agent.current().orElseThrow().version()).isEqualTo(1);

        long answered = System.nanoTime();
        answerPings = true;
        Timed retried = awaitResult(2);
        assertThat(retried.result().getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);
        assertThat(retried.result().getPolicyVersion()).isEqualTo(2);
        // The hold-off (the confirm deadline after a first rollback) runs from the first Pong.
        assertThat(Duration.ofNanos(retried.nanos() - answered)).isGreaterThanOrEqualTo(DEADLINE);
        assertThat(store.lastApplied().value().orElseThrow().getVersion()).isEqualTo(2);
        assertThat(agent.retry()).isEmpty();

        endSession(session);
        agent.close();
    }

    @Test
    void aVersionThatCutsTheHostOffItselfIsTriedAgainWithADoublingHoldOffNotInALoop() throws Exception {
        Store store = new Store(state);
        Agent agent = fastAgent(store);
        Thread session = session(new SyncClient(channel, agent, store, Map.of(), "test", System.out::println));
        send(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")));
        String good = awaitResult(0).result().getRulesetHash();

        CompiledPolicy cutting = TestPolicies.inbound("203.0.113.66/32");
        cutsOff = hashOf(cutting);
        send(TestPolicies.update(2, cutting));
        List<Timed> rollbacks = List.of(awaitResult(1), awaitResult(2), awaitResult(3), awaitResult(4));
        assertThat(rollbacks).allSatisfy(timed -> {
            assertThat(timed.result().getOutcome()).isEqualTo(ApplyResult.Outcome.ROLLED_BACK);
            assertThat(timed.result().getPolicyVersion()).isEqualTo(2);
            assertThat(timed.result().getRulesetHash()).isEqualTo(good);
        });
        // Between rollback k and k + 1: the hold-off (deadline x 2^(k-1)) and the deadline of the next try.
        for (int k = 1; k < rollbacks.size(); k++) {
            Duration gap = Duration.ofNanos(rollbacks.get(k).nanos() - rollbacks.get(k - 1).nanos());
            Duration least = DEADLINE.multipliedBy(1L << (k - 1)).plus(DEADLINE).minusMillis(50);
            assertThat(gap).as("gap after rollback %d", k).isGreaterThanOrEqualTo(least);
        }
        assertThat(agent.retry().orElseThrow().rollbacks()).isGreaterThanOrEqualTo(4);

        // A new version supersedes the retry for good.
        send(TestPolicies.update(3, TestPolicies.inbound("203.0.113.2/32", "198.51.100.0/24")));
        await().atMost(Duration.ofSeconds(10)).until(() -> results.getLast().result().getPolicyVersion() == 3);
        assertThat(results.getLast().result().getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);
        int settled = results.size();
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> results.size() == settled);
        assertThat(agent.current().orElseThrow().version()).isEqualTo(3);

        endSession(session);
        agent.close();
    }

    @Test
    void aRollbackReportLostWithItsStreamIsSentAgainWhenTheControlPlaneResendsTheVersion() throws Exception {
        Store store = new Store(state);
        Agent agent = fastAgent(store);
        SyncClient client = new SyncClient(channel, agent, store, Map.of(), "test", System.out::println);
        Thread first = session(client);
        send(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")));
        awaitResult(0);

        deaf = true;
        PolicyUpdate second = TestPolicies.update(2, TestPolicies.inbound("203.0.113.66/32"));
        send(second);
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.retry().isPresent());
        endSession(first);
        assertThat(results).hasSize(1);

        // A new stream: the control plane sends its current version, the one rolled back, after the hello.
        deaf = false;
        received.clear();
        Thread again = session(client);
        long resent = System.nanoTime();
        send(second);
        Timed report = awaitResult(1);
        assertThat(report.result().getOutcome()).isEqualTo(ApplyResult.Outcome.ROLLED_BACK);
        assertThat(report.result().getPolicyVersion()).isEqualTo(2);
        assertThat(report.result().getReason()).contains("confirm").endsWith("within 300 ms; trying again in 300 ms");
        Timed applied = awaitResult(2);
        assertThat(applied.result().getOutcome()).isEqualTo(ApplyResult.Outcome.APPLIED);
        assertThat(applied.result().getPolicyVersion()).isEqualTo(2);
        assertThat(Duration.ofNanos(applied.nanos() - resent)).isGreaterThanOrEqualTo(DEADLINE);

        endSession(again);
        agent.close();
    }

    /**
     * The host's connections: a summary right after the hello (totals and busiest ports, no list) and
     * again every interval, and the list, capped at the asked limit and marked truncated, on request,
     * also while an apply waits for its confirmation.
     */
    @Test
    void connectionsAreSummarisedPeriodicallyAndListedOnRequest() throws Exception {
        Store store = new Store(state);
        Agent agent = new Agent(new DryRunEnforcer(line -> {}), store, new Agent.Settings(Duration.ofHours(1), Duration.ofSeconds(5)),
                Clock.systemUTC(), System.out::println);
        agent.start();
        java.net.InetAddress host = java.net.InetAddress.getByName("198.51.100.10");
        ConnectionTable table = new ConnectionTable(java.time.Instant.parse("2026-11-24T12:00:00Z"), List.of(
                new HostConnection(dev.clawfence.policy.Direction.INBOUND, host, 443, java.net.InetAddress.getByName("203.0.113.7"), 51000),
                new HostConnection(dev.clawfence.policy.Direction.INBOUND, host, 443, java.net.InetAddress.getByName("2001:db8::7"), 51001),
                new HostConnection(dev.clawfence.policy.Direction.OUTBOUND, host, 40000, java.net.InetAddress.getByName("192.0.2.80"), 5432)));
        AtomicInteger reads = new AtomicInteger();
        SyncClient client = new SyncClient(channel, agent, store, Map.of(), "test", System.out::println)
                .reportingConnections(() -> {
                    reads.incrementAndGet();
                    return table;
                }, Duration.ofMillis(400));
        Thread session = session(client);

        ActiveConnections summary = nextConnections();
        assertThat(summary.getRequestId()).isZero();
        assertThat(summary.getConnectionsList()).isEmpty();
        assertThat(summary.getInboundTotal()).isEqualTo(2);
        assertThat(summary.getOutboundTotal()).isEqualTo(1);
        assertThat(summary.getTakenEpochMillis()).isEqualTo(table.takenAt().toEpochMilli());
        assertThat(summary.getTopPorts(0).getPort()).isEqualTo(443);
        assertThat(summary.getTopPorts(0).getConnections()).isEqualTo(2);
        assertThat(nextConnections().getRequestId()).as("the next periodic summary").isZero();

        // An apply waiting for its confirmation must not hold the answer up.
        answerPings = false;
        send(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32")));
        synchronized (toAgent) {
            toAgent.onNext(ControlMessage.newBuilder().setActiveConnectionsRequest(
                    ActiveConnectionsRequest.newBuilder().setRequestId(42).setLimit(2)).build());
        }
        ActiveConnections answer = nextConnections();
        while (answer.getRequestId() == 0) {
            answer = nextConnections();
        }
        assertThat(answer.getRequestId()).isEqualTo(42);
        assertThat(answer.getTruncated()).isTrue();
        assertThat(answer.getConnectionsList()).hasSize(2);
        assertThat(answer.getConnections(1).getRemoteAddress().toByteArray())
                .isEqualTo(java.net.InetAddress.getByName("2001:db8::7").getAddress());
        assertThat(answer.getConnections(1).getLocalPort()).isEqualTo(443);
        assertThat(answer.getConnections(1).getIpProtocol()).isEqualTo(6);
        assertThat(results).as("the apply is still waiting for its confirmation").isEmpty();

        session.interrupt();
        channel.shutdownNow();
        int readsAtEnd = reads.get();
        // No summaries after the stream ended (one already under way may still finish).
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> reads.get() <= readsAtEnd + 1);
    }

    private ActiveConnections nextConnections() throws InterruptedException {
        for (AgentMessage message = next(); ; message = next()) {
            if (message.hasActiveConnections()) {
                return message.getActiveConnections();
            }
        }
    }

}
