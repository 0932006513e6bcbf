package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.certificates.AgentIdentity;
import dev.clawfence.controlplane.events.EventIngest;
import dev.clawfence.controlplane.events.IngestResult;
import dev.clawfence.controlplane.events.InvalidEventBatchException;
import dev.clawfence.controlplane.events.RuleAttribution;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.proto.agent.v1.EventAck;
import dev.clawfence.proto.agent.v1.EventBatch;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's {@code UploadEvents} stream: each batch gets its rule ids ({@link RuleAttribution}), is
 * stored by {@link EventIngest} and answered with one {@code EventAck} naming the instance's mark.
 * Batches are handled where gRPC delivers them, one at a time and in order, so acks go out in order;
 * gRPC asks the agent for the next batch only when one is handled, which is the stream's back-pressure.
 * A batch that breaks the contract ends the stream with INVALID_ARGUMENT naming every problem (nothing
 * of it stored); a batch the database cannot take ends it with UNAVAILABLE and the agent sends it again.
 */
public final class UploadSession implements StreamObserver<EventBatch> {

    private static final Logger LOG = LoggerFactory.getLogger(UploadSession.class);

    /** Opens sessions; a bean so that the gateway service stays a thin translator. */
    @Singleton
    public static final class Factory {
        private final TenantAccess access;
        private final RuleAttribution attribution;
        private final EventIngest ingest;
        private final AgentStreams streams;

        public Factory(TenantAccess access, RuleAttribution attribution, EventIngest ingest, AgentStreams streams) {
            this.access = access;
            this.attribution = attribution;
            this.ingest = ingest;
            this.streams = streams;
        }

        UploadSession open(AgentIdentity identity, ServerCallStreamObserver<EventAck> out) {
            UploadSession session = new UploadSession(this, identity, out);
            streams.addUpload(session);
            out.setOnCancelHandler(session::end);
            return session;
        }
    }

    private final Factory factory;
    private final AgentIdentity identity;
    private final ServerCallStreamObserver<EventAck> out;
    private boolean ended;

    private UploadSession(Factory factory, AgentIdentity identity, ServerCallStreamObserver<EventAck> out) {
        this.factory = factory;
        this.identity = identity;
        this.out = out;
    }

    public AgentIdentity identity() {
        return identity;
    }

    @Override
    public synchronized void onNext(EventBatch batch) {
        if (ended) {
            return;
        }
        IngestResult result;
        try {
            EventBatch attributed = factory.access.system(identity.tenantId(),
                    Caller.agent(identity.tenantId(), identity.instanceId(), null),
                    tx -> factory.attribution.attribute(tx, identity.instanceId(), batch));
            result = factory.ingest.ingest(identity.tenantId(), identity.instanceId(), attributed);
        } catch (InvalidEventBatchException e) {
            fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            return;
        } catch (IllegalArgumentException e) {
            fail(Status.PERMISSION_DENIED.withDescription("instance " + identity.instanceId()
                    + " is not known to this control plane; enrol the host again"));
            return;
        } catch (RuntimeException e) {
            LOG.error("Storing an event batch of instance {} failed", identity.instanceId(), e);
            fail(Status.UNAVAILABLE.withDescription("the control plane cannot store events now; send the batch again"));
            return;
        }
        out.onNext(EventAck.newBuilder().setStoredThroughSequence(result.storedThrough()).build());
    }

    @Override
    public void onError(Throwable error) {
        end();
    }

    @Override
    public synchronized void onCompleted() {
        if (!ended) {
            out.onCompleted();
        }
        end();
    }

    /** Ends the stream from this side with {@code status} (revocation, shutdown). */
    synchronized void close(Status status) {
        fail(status);
    }

    private synchronized void fail(Status status) {
        if (!ended) {
            out.onError(status.asRuntimeException());
        }
        end();
    }

    private synchronized void end() {
        ended = true;
        factory.streams.removeUpload(this);
    }
}
