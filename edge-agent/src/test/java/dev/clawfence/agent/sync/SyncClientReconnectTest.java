package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.dryrun.DryRunEnforcer;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.Pong;
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
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SyncClient#reconnect()}, which a certificate renewal uses: the stream ends only after the
 * update being confirmed is applied and reported, and the next stream opens without the failure
 * backoff (in-process gRPC, scripted control plane).
 */
class SyncClientReconnectTest {

    @TempDir
    Path state;

    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final List<StreamObserver<ControlMessage>> streams = new CopyOnWriteArrayList<>();
    private final List<String> logged = new CopyOnWriteArrayList<>();
    private volatile long heldPing;
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    private String next() throws InterruptedException {
        String event = events.poll(10, TimeUnit.SECONDS);
        assertThat(event).as("an event from the agent").isNotNull();
        return event;
    }

    @Test
    void aReconnectWaitsForTheUpdateInHandAndThenOpensTheNextStreamAtOnce() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        String name = UUID.randomUUID().toString();
        server = InProcessServerBuilder.forName(name).addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
            @Override
            public StreamObserver<AgentMessage> sync(StreamObserver<ControlMessage> responses) {
                int stream = opened.incrementAndGet();
                streams.add(responses);
                return new StreamObserver<>() {
                    @Override
                    public void onNext(AgentMessage message) {
                        if (message.hasHello()) {
                            events.add("hello on stream " + stream);
                        } else if (message.hasPing()) {
                            // Held: the test answers it after asking for the reconnect.
                            heldPing = message.getPing().getNonce();
                            events.add("ping on stream " + stream);
                        } else if (message.hasApplyResult()) {
                            events.add("result " + message.getApplyResult().getOutcome() + " " + message.getApplyResult().getPolicyVersion() + " on stream " + stream);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        events.add("error on stream " + stream);
                    }

                    @Override
                    public void onCompleted() {
                        events.add("agent ended stream " + stream);
                        synchronized (responses) {
                            responses.onCompleted();
                        }
                    }
                };
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        Store store = new Store(state);
        Agent agent = new Agent(new DryRunEnforcer(line -> { }), store, new Agent.Settings(Duration.ofHours(1), Duration.ofSeconds(10)),
                Clock.systemUTC(), logged::add);
        agent.start();
        SyncClient client = new SyncClient(channel, agent, store, Map.of(), "test", logged::add);
        Thread running = Thread.ofVirtual().start(() -> {
            try {
                client.run();
            } catch (InterruptedException e) {
                // the test is done
            }
        });
        try {
            assertThat(next()).isEqualTo("hello on stream 1");
            StreamObserver<ControlMessage> first = streams.getFirst();
            synchronized (first) {
                first.onNext(ControlMessage.newBuilder().setPolicyUpdate(TestPolicies.update(1, TestPolicies.inbound("203.0.113.2/32"))).build());
            }
            assertThat(next()).isEqualTo("ping on stream 1");

            client.reconnect();

            assertThat(events.poll(500, TimeUnit.MILLISECONDS)).as("nothing ends while version 1 waits for its confirmation").isNull();
            synchronized (first) {
                first.onNext(ControlMessage.newBuilder().setPong(Pong.newBuilder().setNonce(heldPing)).build());
            }
            // Streams are served concurrently, so only the order within stream 1 is fixed.
            List<String> after = List.of(next(), next(), next());
            assertThat(after).containsExactlyInAnyOrder("result APPLIED 1 on stream 1", "agent ended stream 1", "hello on stream 2");
            assertThat(after.indexOf("result APPLIED 1 on stream 1")).isLessThan(after.indexOf("agent ended stream 1"));
            assertThat(logged).contains("sync stream ended to reconnect with the renewed certificate")
                    .noneMatch(line -> line.contains("retrying") || line.contains("closed by the control plane"));
            assertThat(store.lastApplied().value().orElseThrow().getVersion()).isEqualTo(1);
        } finally {
            running.interrupt();
            running.join(Duration.ofSeconds(5));
            agent.close();
        }
    }
}
