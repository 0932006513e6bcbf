package dev.clawfence.agent.sync;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.Applied;
import dev.clawfence.agent.ApplyOutcome;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.DriftReport;
import dev.clawfence.proto.agent.v1.Ping;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.ProtocolVersion;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One agent's Sync stream to the control plane: says hello (applied version and ruleset hash, the set
 * hashes it holds, host facts), applies each {@code PolicyUpdate} through {@link Agent#offer} with a
 * Ping/Pong round trip on this stream as the commit-confirmed {@link dev.clawfence.agent.Confirmation},
 * reports every {@code ApplyResult} and drift. Updates are applied on their own thread, because the
 * Pong that confirms one arrives on the stream that delivered it. {@link #session()} runs one stream
 * until it ends; {@link #run} reconnects with backoff.
 */
public final class SyncClient {

    private final Channel channel;
    private final Agent agent;
    private final Store store;
    private final Map<String, String> hostFacts;
    private final String agentVersion;
    private final Consumer<String> log;
    private final SecureRandom random = new SecureRandom();

    public SyncClient(Channel channel, Agent agent, Store store, Map<String, String> hostFacts, String agentVersion, Consumer<String> log) {
        this.channel = channel;
        this.agent = agent;
        this.store = store;
        this.hostFacts = Map.copyOf(hostFacts);
        this.agentVersion = agentVersion;
        this.log = log;
    }

    /** Runs sessions until interrupted, waiting 1 s doubling to 60 s between failed ones; enforcement never stops meanwhile. */
    public void run() throws InterruptedException {
        long backoff = 1000;
        while (!Thread.currentThread().isInterrupted()) {
            long started = System.nanoTime();
            try {
                session();
                log.accept("sync stream closed by the control plane; reconnecting");
            } catch (ExecutionException | IOException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                log.accept("warning: sync stream: " + cause.getMessage() + "; still enforcing, retrying in " + backoff / 1000 + " s");
            }
            if (System.nanoTime() - started > TimeUnit.MINUTES.toNanos(1)) {
                backoff = 1000;
            }
            Thread.sleep(backoff + random.nextLong(backoff / 4 + 1));
            backoff = Math.min(backoff * 2, 60_000);
        }
    }

    /** One Sync stream, until the control plane ends it (normally or with an error). */
    public void session() throws InterruptedException, ExecutionException, IOException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Map<Long, CompletableFuture<Void>> pongs = new ConcurrentHashMap<>();
        ExecutorService updates = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("policy-updates").factory());
        Object sendLock = new Object();
        StreamObserver<AgentMessage>[] out = new StreamObserver[1];
        Consumer<AgentMessage> send = message -> {
            synchronized (sendLock) {
                if (!done.isDone()) {
                    out[0].onNext(message);
                }
            }
        };
        out[0] = AgentGatewayGrpc.newStub(channel).sync(new StreamObserver<>() {
            @Override
            public void onNext(ControlMessage message) {
                switch (message.getBodyCase()) {
                    case POLICY_UPDATE -> {
                        PolicyUpdate update = message.getPolicyUpdate();
                        updates.execute(() -> send.accept(AgentMessage.newBuilder().setApplyResult(apply(update, send, pongs)).build()));
                    }
                    case PONG -> {
                        CompletableFuture<Void> pong = pongs.remove(message.getPong().getNonce());
                        if (pong != null) {
                            pong.complete(null);
                        }
                    }
                    default -> log.accept("warning: ignoring an unknown control message");
                }
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
        agent.onDrift((detail, restored) -> send.accept(AgentMessage.newBuilder()
                .setDrift(DriftReport.newBuilder().setDetail(detail).setRestored(restored)).build()));
        // Scheduled switches (lapsed allowlist entries) queue behind any update result, keeping reports in order.
        agent.onLocalApply(outcome -> updates.execute(() -> send.accept(AgentMessage.newBuilder().setApplyResult(result(outcome)).build())));
        try {
            send.accept(AgentMessage.newBuilder().setHello(hello()).build());
            done.get();
        } finally {
            agent.onDrift(dev.clawfence.agent.DriftListener.NONE);
            agent.onLocalApply(null);
            updates.shutdownNow();
            pongs.values().forEach(pong -> pong.cancel(false));
            synchronized (sendLock) {
                try {
                    out[0].onCompleted();
                } catch (RuntimeException e) {
                    // the stream is already gone
                }
            }
        }
    }

    private ApplyResult apply(PolicyUpdate update, Consumer<AgentMessage> send, Map<Long, CompletableFuture<Void>> pongs) {
        return result(agent.offer(update, deadline -> roundTrip(deadline, send, pongs)));
    }

    private static ApplyResult result(ApplyOutcome outcome) {
        return ApplyResult.newBuilder()
                .setPolicyVersion(outcome.version())
                .setOutcome(switch (outcome.outcome()) {
                    case APPLIED -> ApplyResult.Outcome.APPLIED;
                    case FAILED -> ApplyResult.Outcome.FAILED;
                    case ROLLED_BACK -> ApplyResult.Outcome.ROLLED_BACK;
                })
                .setReason(outcome.reason())
                .setRulesetHash(outcome.rulesetHash())
                .build();
    }

    /** A Ping, and whether its Pong came back within {@code deadline}. */
    private boolean roundTrip(Duration deadline, Consumer<AgentMessage> send, Map<Long, CompletableFuture<Void>> pongs) throws InterruptedException {
        long nonce = random.nextLong();
        CompletableFuture<Void> pong = new CompletableFuture<>();
        pongs.put(nonce, pong);
        send.accept(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build());
        try {
            pong.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException | java.util.concurrent.CancellationException e) {
            return false;
        } finally {
            pongs.remove(nonce);
        }
    }

    private AgentHello hello() throws IOException {
        AgentHello.Builder hello = AgentHello.newBuilder()
                .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setAgentVersion(agentVersion)
                .putAllHostFacts(hostFacts)
                .addAllKnownSetHashes(store.knownSetHashes());
        agent.current().map(Applied::version).ifPresent(hello::setAppliedPolicyVersion);
        agent.current().map(applied -> applied.ruleset().sha256()).ifPresent(hello::setAppliedRulesetHash);
        return hello.build();
    }
}
