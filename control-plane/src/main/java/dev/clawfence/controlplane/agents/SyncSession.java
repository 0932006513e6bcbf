package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.certificates.AgentIdentity;
import dev.clawfence.controlplane.events.InvalidRuleCountersException;
import dev.clawfence.controlplane.events.KernelCounters;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.ActiveConnectionsRequest;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.Pong;
import dev.clawfence.proto.agent.v1.ProtocolVersion;
import dev.clawfence.proto.agent.v1.RuleCounters;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's Sync stream. The first message must be a hello naming a protocol version this control plane
 * speaks (else the stream ends with FAILED_PRECONDITION); then the current policy goes out at once,
 * and every later version as it commits. Sets travel only when the agent lacks them (per its hello and
 * what this stream already sent), and an update message is built once for all streams that lack the
 * same sets. What the stream reports about the instance (hello facts, pings, apply results, its end) is
 * written behind it in batches ({@link InstanceReports}).
 * All work of one stream (incoming messages, pushes, closing) runs in order, one task at a time, through
 * its own serial executor, because a {@link StreamObserver} is not thread-safe; a message or push that
 * finds the stream idle runs on the calling thread instead of a new one.
 */
public final class SyncSession implements StreamObserver<AgentMessage> {

    private static final Logger LOG = LoggerFactory.getLogger(SyncSession.class);
    /** The protocol versions this control plane speaks (AgentHello.protocol_version). */
    static final int LOWEST_PROTOCOL_VERSION = ProtocolVersion.PROTOCOL_VERSION_1_VALUE;
    static final int HIGHEST_PROTOCOL_VERSION = ProtocolVersion.PROTOCOL_VERSION_1_VALUE;

    /** Opens sessions; a bean so that the gateway service stays a thin translator. */
    @Singleton
    public static final class Factory {
        private final TenantAccess access;
        private final Instances instances;
        private final AgentStreams streams;
        private final PolicyDistribution distribution;
        private final InstanceReports reports;
        private final ActiveConnectionsStore connections;
        private final KernelCounters counters;
        private final EncodedOnce encoded;
        private static final int MAX_SHARED_UPDATES = 64;

        private final Executor executor = Executors.newVirtualThreadPerTaskExecutor();
        /** The last update messages built, per tenant: every stream lacking the same sets shares one. */
        private final Map<UUID, Updates> updates = new ConcurrentHashMap<>();

        public Factory(TenantAccess access, Instances instances, AgentStreams streams, PolicyDistribution distribution,
                InstanceReports reports, ActiveConnectionsStore connections, KernelCounters counters, EncodedOnce encoded) {
            this.access = access;
            this.counters = counters;
            this.connections = connections;
            this.instances = instances;
            this.streams = streams;
            this.distribution = distribution;
            this.reports = reports;
            this.encoded = encoded;
        }

        SyncSession open(AgentIdentity identity, String remoteAddress, ServerCallStreamObserver<ControlMessage> out) {
            SyncSession session = new SyncSession(this, identity, remoteAddress, out);
            streams.add(session);
            out.setOnCancelHandler(() -> session.serial.execute(session::end));
            out.setOnReadyHandler(() -> session.serial.execute(session::sendHeld));
            return session;
        }

        /**
         * The update carrying {@code compiled} and, of its sets, those at {@code lacking}; built once per
         * compilation and distinct set of lacking sets (after a save, the same for nearly every stream), and
         * then encoded once for all of them.
         */
        ControlMessage update(UUID tenant, PolicyDistribution.Compiled compiled, List<CompiledSet> lacking) {
            Updates cached = updates.get(tenant);
            if (cached == null || cached.compiled() != compiled) {
                cached = new Updates(compiled, new ConcurrentHashMap<>());
                updates.put(tenant, cached);
                // Tenants without streams here need no messages kept.
                updates.keySet().removeIf(t -> !t.equals(tenant) && !streams.has(t));
            }
            List<String> key = lacking.stream().map(CompiledSet::getHash).toList();
            ControlMessage shared = cached.messages().get(key);
            if (shared != null) {
                return shared;
            }
            ControlMessage message = ControlMessage.newBuilder().setPolicyUpdate(SyncSession.update(compiled, lacking)).build();
            // Hellos decide which sets a stream lacks: cap the combinations kept, whatever agents claim to hold.
            if (cached.messages().size() < MAX_SHARED_UPDATES) {
                ControlMessage first = cached.messages().putIfAbsent(key, message);
                return first != null ? first : encoded.share(message);
            }
            return message;
        }

        private record Updates(PolicyDistribution.Compiled compiled, Map<List<String>, ControlMessage> messages) {}
    }

    private final Factory factory;
    private final AgentIdentity identity;
    private final Caller caller;
    private final ServerCallStreamObserver<ControlMessage> out;
    private final SerialExecutor serial;
    /** Set hashes the agent holds: from its hello, plus every set sent on this stream. */
    private final Set<String> agentSets = new HashSet<>();
    private boolean greeted;
    private boolean ended;
    private int sentVersion;
    /** The newest version not yet sent because the stream's buffer is full (the agent reads slowly). */
    private PolicyDistribution.Compiled held;
    private OffsetDateTime connectedSince;

    private SyncSession(Factory factory, AgentIdentity identity, String remoteAddress,
            ServerCallStreamObserver<ControlMessage> out) {
        this.factory = factory;
        this.identity = identity;
        this.caller = Caller.agent(identity.tenantId(), identity.instanceId(), remoteAddress);
        this.out = out;
        this.serial = new SerialExecutor(factory.executor);
    }

    public AgentIdentity identity() {
        return identity;
    }

    @Override
    public void onNext(AgentMessage message) {
        // gRPC delivers a call's messages one at a time on its executor, where waiting is allowed.
        serial.executeHere(() -> handle(message));
    }

    @Override
    public void onError(Throwable error) {
        serial.execute(this::end);
    }

    @Override
    public void onCompleted() {
        serial.execute(() -> {
            if (!ended) {
                out.onCompleted();
            }
            end();
        });
    }

    /**
     * Sends {@code compiled} unless this stream already sent that version ({@code again} sends it anyway);
     * runs {@code handled} once it is sent, held or found not needed.
     */
    void offer(PolicyDistribution.Compiled compiled, boolean again, Runnable handled) {
        serial.executeHere(() -> {
            try {
                int known = held == null ? sentVersion : held.version();
                if (greeted && !ended && (compiled.version() > known || (again && compiled.version() == known))) {
                    send(compiled);
                }
            } finally {
                handled.run();
            }
        });
    }

    /** Ends the stream from this side with {@code status}; the future completes once it has ended. */
    CompletableFuture<Void> close(Status status) {
        CompletableFuture<Void> closed = new CompletableFuture<>();
        serial.execute(() -> {
            try {
                if (!ended) {
                    out.onError(status.asRuntimeException());
                }
            } finally {
                end();
                closed.complete(null);
            }
        });
        return closed;
    }

    private void handle(AgentMessage message) {
        if (ended) {
            return;
        }
        try {
            if (!greeted && message.getBodyCase() != AgentMessage.BodyCase.HELLO) {
                refuse("the first message on a Sync stream must be hello");
                return;
            }
            switch (message.getBodyCase()) {
                case HELLO -> hello(message.getHello());
                case APPLY_RESULT -> applyResult(message.getApplyResult());
                case DRIFT -> tenant(tx -> factory.instances.drift(tx, identity.instanceId(),
                        message.getDrift().getDetail(), message.getDrift().getRestored()));
                case PING -> {
                    // The agent's commit-confirmed deadline runs: answer first, record liveness in the next batch.
                    out.onNext(ControlMessage.newBuilder()
                            .setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
                    factory.reports.seen(identity.tenantId(), identity.instanceId());
                }
                case ACTIVE_CONNECTIONS -> activeConnections(message.getActiveConnections());
                case RULE_COUNTERS -> ruleCounters(message.getRuleCounters());
                case BODY_NOT_SET -> refuse("the message has no body; send hello, apply_result, drift or ping");
            }
        } catch (RuntimeException e) {
            LOG.error("Sync message from instance {} failed", identity.instanceId(), e);
            if (!ended) {
                out.onError(Status.INTERNAL.withDescription("the server could not handle this message; it has been logged")
                        .asRuntimeException());
            }
            end();
        }
    }

    /**
     * Stores the agent's connection report. A report that does not make sense is dropped with a warning
     * rather than ending the stream: policy delivery matters more than one bad summary.
     */
    private void activeConnections(ActiveConnections report) {
        try {
            factory.access.system(identity.tenantId(), caller, tx -> {
                try {
                    factory.connections.record(tx, identity.instanceId(), report);
                    return null;
                } catch (ActiveConnectionsStore.InvalidReportException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
            });
        } catch (IllegalArgumentException e) {
            LOG.warn("Dropped a connection report of instance {}: {}", identity.instanceId(), e.getMessage());
        }
    }

    /** Asks the agent for its established connections (at most {@code limit}); the answer is stored as it comes. */
    void requestConnections(long requestId, int limit) {
        serial.execute(() -> {
            if (greeted && !ended) {
                out.onNext(ControlMessage.newBuilder().setActiveConnectionsRequest(ActiveConnectionsRequest.newBuilder()
                        .setRequestId(requestId).setLimit(limit)).build());
            }
        });
    }

    private void hello(AgentHello hello) {
        int protocol = hello.getProtocolVersionValue();
        if (protocol < LOWEST_PROTOCOL_VERSION || protocol > HIGHEST_PROTOCOL_VERSION) {
            // An agent from the future (or one that names none) would misread what we send: say which we speak.
            out.onError(Status.FAILED_PRECONDITION.withDescription("hello.protocol_version "
                    + (protocol == 0 ? "is unspecified" : protocol + " is unknown here") + "; this control plane speaks protocol version "
                    + (LOWEST_PROTOCOL_VERSION == HIGHEST_PROTOCOL_VERSION ? String.valueOf(HIGHEST_PROTOCOL_VERSION)
                            : LOWEST_PROTOCOL_VERSION + " to " + HIGHEST_PROTOCOL_VERSION)).asRuntimeException());
            end();
            return;
        }
        Instances.Hello facts = new Instances.Hello(hello.getAgentVersion(), hello.getHostFactsMap(),
                hello.getAppliedPolicyVersion(), hello.getAppliedRulesetHash());
        if (connectedSince == null) {
            connectedSince = Instances.connectionStart();
        }
        // Bookkeeping only: the instance was checked when the call came in, and its policy goes out now.
        factory.reports.connected(identity.tenantId(), identity.instanceId(), facts, connectedSince);
        agentSets.addAll(hello.getKnownSetHashesList());
        if (!greeted) {
            greeted = true;
            send(factory.distribution.current(identity.tenantId()));
        }
    }

    private void ruleCounters(RuleCounters counters) {
        try {
            tenant(tx -> factory.counters.store(tx, identity.instanceId(), counters));
        } catch (InvalidRuleCountersException e) {
            refuse(e.getMessage());
        }
    }

    private void applyResult(ApplyResult result) {
        String outcome = switch (result.getOutcome()) {
            case APPLIED -> "APPLIED";
            case FAILED -> "FAILED";
            case ROLLED_BACK -> "ROLLED_BACK";
            default -> null;
        };
        if (outcome == null) {
            refuse("apply_result.outcome must be APPLIED, FAILED or ROLLED_BACK");
            return;
        }
        if (result.getPolicyVersion() < 1 || result.getPolicyVersion() > Integer.MAX_VALUE) {
            refuse("apply_result.policy_version must be a version number (1 or more), not " + result.getPolicyVersion());
            return;
        }
        factory.reports.applied(new InstanceReports.Result(identity.tenantId(), identity.instanceId(),
                caller.remoteAddress(), result.getPolicyVersion(), outcome, result.getReason(), result.getRulesetHash()));
    }

    /**
     * Sends {@code compiled} now, or, while the stream's buffer is full, holds it in place of any version
     * held before: an agent that reads slowly gets only the newest version once it catches up, and
     * neither its backlog nor its pace touch other streams.
     */
    private void send(PolicyDistribution.Compiled compiled) {
        if (!out.isReady()) {
            held = compiled;
            return;
        }
        held = null;
        List<CompiledSet> lacking = new ArrayList<>();
        for (CompiledSet set : compiled.wire().sets()) {
            if (!agentSets.contains(set.getHash())) {
                lacking.add(set);
            }
        }
        out.onNext(factory.update(identity.tenantId(), compiled, lacking));
        lacking.forEach(set -> agentSets.add(set.getHash()));
        sentVersion = compiled.version();
    }

    private void sendHeld() {
        if (held != null && !ended && out.isReady()) {
            send(held);
        }
    }

    /** The update for {@code compiled} carrying the sets {@code lacking}. */
    static PolicyUpdate update(PolicyDistribution.Compiled compiled, List<CompiledSet> lacking) {
        return PolicyUpdate.newBuilder().setVersion(compiled.version()).setPolicy(compiled.wire().policy())
                .addAllScheduled(compiled.wire().scheduled()).addAllSets(lacking).build();
    }

    private void refuse(String description) {
        out.onError(Status.INVALID_ARGUMENT.withDescription(description).asRuntimeException());
        end();
    }

    private void tenant(Consumer<TenantTransaction> work) {
        factory.access.system(identity.tenantId(), caller, tx -> {
            work.accept(tx);
            return null;
        });
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        factory.streams.remove(this);
        if (connectedSince != null) {
            // Queued after this stream's hello, so the batch writes them in that order.
            factory.reports.disconnected(identity.tenantId(), identity.instanceId(), connectedSince);
        }
    }

    /** Runs tasks one at a time, in submission order, on a shared executor. */
    private static final class SerialExecutor implements Executor {
        private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean();
        private final Executor executor;

        SerialExecutor(Executor executor) {
            this.executor = executor;
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
            schedule();
        }

        /**
         * Runs {@code task} on the calling thread when nothing of this stream is queued or running, else
         * queues it: a fan-out to 10,000 streams then costs no thread hop per stream.
         */
        void executeHere(Runnable task) {
            if (!tasks.isEmpty() || !running.compareAndSet(false, true)) {
                execute(task);
                return;
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.error("Sync task failed", e);
            } finally {
                running.set(false);
                schedule();
            }
        }

        private void schedule() {
            if (!tasks.isEmpty() && running.compareAndSet(false, true)) {
                executor.execute(this::drain);
            }
        }

        private void drain() {
            try {
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        LOG.error("Sync task failed", e);
                    }
                }
            } finally {
                running.set(false);
                schedule();
            }
        }
    }
}
