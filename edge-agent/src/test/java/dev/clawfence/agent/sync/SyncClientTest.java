package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
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
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Sync stream against a scripted control plane (in-process gRPC, no network; TLS is covered by
 * EnrolmentIT): hello, updates applied commit-confirmed with Ping/Pong, rollbacks reported, and sets the
 * agent holds need not be sent again.
 */
class SyncClientTest {

    @TempDir
    Path state;

    private final BlockingQueue<AgentMessage> received = new LinkedBlockingQueue<>();
    private volatile StreamObserver<ControlMessage> toAgent;
    private volatile boolean answerPings = true;
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
                        if (message.hasPing() && answerPings) {
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
}
