package dev.clawfence.agent.sync;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.Applied;
import dev.clawfence.agent.ApplyOutcome;
import dev.clawfence.agent.connections.ConnectionTable;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.ActiveConnectionsRequest;
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
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One agent's Sync stream to the control plane: says hello (applied version and ruleset hash, the set
 * hashes it holds, host facts), applies each {@code PolicyUpdate} through {@link Agent#offer} with a
 * Ping/Pong round trip on this stream as the commit-confirmed {@link dev.clawfence.agent.Confirmation},
 * reports every {@code ApplyResult} and drift. Updates are applied on their own thread, because the
 * Pong that confirms one arrives on the stream that delivered it. A version rolled back for want of a
 * Pong is tried again once the control plane answers again and the hold-off has passed
 * ({@link Agent.Retry}); when the control plane sends it again after a reconnect, the agent reports the
 * rollback again and starts the hold-off from there. {@link #session()} runs one stream
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
    private volatile Runnable endStream = () -> { };
    /** The open stream, for messages the agent sends on its own (rule counters); null between streams. */
    private volatile Stream current;
    private volatile boolean reconnecting;
    private ConnectionTable.Source connections;
    private Duration connectionSummaryEvery;

    public SyncClient(Channel channel, Agent agent, Store store, Map<String, String> hostFacts, String agentVersion, Consumer<String> log) {
        this.channel = channel;
        this.agent = agent;
        this.store = store;
        this.hostFacts = Map.copyOf(hostFacts);
        this.agentVersion = agentVersion;
        this.log = log;
    }

    /**
     * Reports the host's established connections from {@code source}: a summary right after each hello
     * and every {@code summaryEvery}, the list whenever the control plane asks. Call before the first session.
     */
    public SyncClient reportingConnections(ConnectionTable.Source source, Duration summaryEvery) {
        this.connections = source;
        this.connectionSummaryEvery = summaryEvery;
        return this;
    }

    /**
     * Ends the current stream once the update in hand (if any) is applied and reported, and opens the
     * next at once: after a certificate renewal this moves the stream to the new identity without
     * cutting a commit-confirmed apply short.
     */
    public void reconnect() {
        reconnecting = true;
        endStream.run();
    }

    /**
     * Sends {@code message} on the open stream, after its hello; false when no stream is open (the caller
     * keeps what it wanted to send for later).
     */
    public boolean send(AgentMessage message) {
        Stream stream = current;
        if (stream == null || stream.done.isDone()) {
            return false;
        }
        stream.send(message);
        return true;
    }

    /** Runs sessions until interrupted, waiting 1 s doubling to 60 s between failed ones; enforcement never stops meanwhile. */
    public void run() throws InterruptedException {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(1), random);
        while (!Thread.currentThread().isInterrupted()) {
            long started = System.nanoTime();
            try {
                session();
                if (reconnecting) {
                    reconnecting = false;
                    log.accept("sync stream ended to reconnect with the renewed certificate");
                    continue;
                }
                log.accept("sync stream closed by the control plane; reconnecting");
            } catch (ExecutionException | IOException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                Duration wait = backoff.next(Duration.ofNanos(System.nanoTime() - started));
                log.accept("warning: sync stream: " + cause.getMessage() + "; still enforcing, retrying in " + wait.toSeconds() + " s");
                Thread.sleep(wait);
                continue;
            }
            backoff.pause(Duration.ofNanos(System.nanoTime() - started));
        }
    }

    /** One Sync stream, until the control plane ends it (normally or with an error). */
    public void session() throws InterruptedException, ExecutionException, IOException {
        Stream stream = new Stream();
        reconnecting = false;
        // Queued behind the update in hand, so a reconnect never cuts a commit-confirmed apply short.
        endStream = () -> stream.later(() -> stream.done.complete(null), Duration.ZERO);
        agent.onDrift((detail, restored) -> stream.send(AgentMessage.newBuilder()
                .setDrift(DriftReport.newBuilder().setDetail(detail).setRestored(restored)).build()));
        // Scheduled switches (lapsed allowlist entries) queue behind any update result, keeping reports in order.
        agent.onLocalApply(outcome -> stream.later(() -> stream.send(result(outcome)), Duration.ZERO));
        try {
            stream.send(AgentMessage.newBuilder().setHello(hello()).build());
            current = stream;
            stream.reportConnections();
            stream.done.get();
        } finally {
            current = null;
            endStream = () -> { };
            agent.onDrift(dev.clawfence.agent.DriftListener.NONE);
            agent.onLocalApply(null);
            stream.close();
        }
    }

    /**
     * The state of one stream. Updates, retries of rolled-back versions and their timers all run one at a
     * time on {@code updates}, so a retry never races an update that supersedes it; nothing there blocks
     * except the confirmation of an apply.
     */
    private final class Stream implements StreamObserver<ControlMessage> {
        final CompletableFuture<Void> done = new CompletableFuture<>();
        private final Map<Long, CompletableFuture<Void>> pongs = new ConcurrentHashMap<>();
        private final ScheduledExecutorService updates =
                Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("policy-updates").factory());
        /** Reads the connection table off the update thread, which may be waiting for a confirmation. */
        private final ScheduledExecutorService connectionReports =
                Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("connections").factory());
        private final Object sendLock = new Object();
        private final StreamObserver<AgentMessage> out;
        /** The rolled-back version this stream is bringing back (0: none); only touched on {@code updates}. */
        private long retrying;

        Stream() {
            out = AgentGatewayGrpc.newStub(channel).sync(this);
        }

        void send(AgentMessage message) {
            synchronized (sendLock) {
                if (!done.isDone()) {
                    out.onNext(message);
                }
            }
        }

        @Override
        public void onNext(ControlMessage message) {
            switch (message.getBodyCase()) {
                case POLICY_UPDATE -> {
                    PolicyUpdate update = message.getPolicyUpdate();
                    later(() -> received(update), Duration.ZERO);
                }
                case PONG -> {
                    CompletableFuture<Void> pong = pongs.remove(message.getPong().getNonce());
                    if (pong != null) {
                        pong.complete(null);
                    }
                }
                case ACTIVE_CONNECTIONS_REQUEST -> {
                    ActiveConnectionsRequest request = message.getActiveConnectionsRequest();
                    connectionReport(table -> ActiveConnectionsWire.answer(table, request.getRequestId(), request.getLimit()));
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

        void reportConnections() {
            if (connections != null) {
                connectionReports.scheduleWithFixedDelay(() -> connectionReport(ActiveConnectionsWire::summary), 0,
                        connectionSummaryEvery.toMillis(), TimeUnit.MILLISECONDS);
            }
        }

        private void connectionReport(Function<ConnectionTable, ActiveConnections> message) {
            if (connections == null) {
                return;
            }
            try {
                connectionReports.execute(() -> {
                    try {
                        send(AgentMessage.newBuilder().setActiveConnections(message.apply(connections.read())).build());
                    } catch (IOException | RuntimeException e) {
                        log.accept("warning: cannot read the host's connections: " + e.getMessage());
                    }
                });
            } catch (RejectedExecutionException e) {
                // the stream has ended
            }
        }

        void close() {
            connectionReports.shutdownNow();
            updates.shutdownNow();
            pongs.values().forEach(pong -> pong.cancel(false));
            synchronized (sendLock) {
                try {
                    out.onCompleted();
                } catch (RuntimeException e) {
                    // the stream is already gone
                }
            }
        }

        private void received(PolicyUpdate update) {
            Optional<Agent.Retry> held = agent.retry()
                    .filter(retry -> retry.version() == update.getVersion() && retry.update().getPolicy().equals(update.getPolicy()));
            if (held.isEmpty()) {
                applyAndReport(update);
                return;
            }
            // The control plane sends a version this agent rolled back again, as it does after every
            // reconnect: answer with the rollback (the first report may have died with the old stream)
            // and try it again after the hold-off. The update got here, so the path is back now.
            Agent.Retry retry = held.get();
            send(result(new ApplyOutcome(retry.version(), ApplyOutcome.Outcome.ROLLED_BACK,
                    retry.reason() + "; trying again in " + Agent.text(retry.holdOff()),
                    agent.current().map(applied -> applied.ruleset().sha256()).orElse(""))));
            if (retrying != retry.version()) {
                retrying = retry.version();
                holdOff(retry);
            }
        }

        private void applyAndReport(PolicyUpdate update) {
            retrying = 0;
            ApplyOutcome outcome = agent.offer(update, this::roundTrip);
            send(result(outcome));
            if (outcome.outcome() == ApplyOutcome.Outcome.ROLLED_BACK) {
                retrying = outcome.version();
                awaitControlPlane(outcome.version());
            }
        }

        /**
         * After a rollback the control plane was not reachable: Ping (one at a time, each given the
         * confirm deadline) until a Pong shows it is again, then wait out the hold-off. The Pong comes
         * after the control plane has handled the {@code ROLLED_BACK} report sent before the Ping, so
         * the rollback is visible there for the whole hold-off.
         */
        private void awaitControlPlane(long version) {
            if (retrying(version).isEmpty()) {
                return;
            }
            Duration deadline = agent.confirmDeadline();
            ping().orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS).whenComplete((pong, error) -> {
                if (error == null) {
                    later(() -> retrying(version).ifPresent(this::holdOff), Duration.ZERO);
                } else if (error instanceof TimeoutException) {
                    later(() -> awaitControlPlane(version), Duration.ZERO);
                }
                // else cancelled: the stream ended, and the next one starts over
            });
        }

        private void holdOff(Agent.Retry retry) {
            log.accept("policy version " + retry.version() + " will be tried again in " + Agent.text(retry.holdOff())
                    + " (rolled back " + retry.rollbacks() + " time(s); the control plane answers now)");
            later(() -> retrying(retry.version()).ifPresent(again -> {
                log.accept("trying policy version " + again.version() + " again");
                applyAndReport(again.update());
            }), retry.holdOff());
        }

        /** The agent's pending retry, if it is still {@code version} and still this stream's to bring back. */
        private Optional<Agent.Retry> retrying(long version) {
            return retrying == version ? agent.retry().filter(retry -> retry.version() == version) : Optional.empty();
        }

        private void later(Runnable task, Duration delay) {
            Runnable logged = () -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    // A scheduled task's exception would otherwise vanish into its unread future.
                    log.accept("error: policy update: " + e);
                }
            };
            try {
                updates.schedule(logged, delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // the stream has ended
            }
        }

        private CompletableFuture<Void> ping() {
            long nonce = random.nextLong();
            CompletableFuture<Void> pong = new CompletableFuture<>();
            pongs.put(nonce, pong);
            pong.whenComplete((ignored, error) -> pongs.remove(nonce));
            send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build());
            return pong;
        }

        /** A Ping, and whether its Pong came back within {@code deadline}: the confirmation of an apply. */
        private boolean roundTrip(Duration deadline) throws InterruptedException {
            CompletableFuture<Void> pong = ping();
            try {
                pong.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
                return true;
            } catch (TimeoutException | ExecutionException | CancellationException e) {
                return false;
            } finally {
                pong.cancel(false); // forgets the nonce if no Pong came
            }
        }
    }

    private static AgentMessage result(ApplyOutcome outcome) {
        return AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder()
                .setPolicyVersion(outcome.version())
                .setOutcome(switch (outcome.outcome()) {
                    case APPLIED -> ApplyResult.Outcome.APPLIED;
                    case FAILED -> ApplyResult.Outcome.FAILED;
                    case ROLLED_BACK -> ApplyResult.Outcome.ROLLED_BACK;
                })
                .setReason(outcome.reason())
                .setRulesetHash(outcome.rulesetHash()))
                .build();
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
