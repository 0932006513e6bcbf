package dev.clawfence.agent.sync;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.clawfence.agent.spool.Loss;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.EventAck;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Uploads the event spool to the control plane on one {@code UploadEvents} stream at a time and
 * deletes nothing itself: each {@code EventAck} moves the spool's acknowledged mark
 * ({@link Spool#ack}), and the spool deletes what the mark covers. A stream starts reading after the
 * spool's mark, so whatever was sent but not acknowledged when a stream (or the agent) died is sent
 * again; the control plane stores each sequence number once.
 *
 * <p>Up to {@link Settings#window()} batches are in flight without waiting for their acks. A batch
 * holds at most {@link Settings#maxEvents()} events and {@link Settings#maxBytes()} bytes of them; a
 * partial batch waits at most {@link Settings#linger()} for more, so an event reaches the control plane
 * within about that long of its append. Every batch carries the spool's pending losses until an ack
 * covers them. The sending thread sleeps until the spool appends, an ack frees the window or the stream
 * can take more: it never polls.
 */
public final class EventUploader {

    /**
     * @param maxEvents events per batch
     * @param maxBytes  spooled bytes per batch (the message is about as big)
     * @param window    batches sent and not yet acknowledged
     * @param linger    how long a partial batch waits for more events
     * @param firstRetry the wait after the first failed stream, doubling up to {@code maxRetry}
     * @param unsupportedRecheck how often to ask again a control plane that does not implement
     *     {@code UploadEvents} (an older version): rarely, and said once, not on every try
     */
    public record Settings(int maxEvents, int maxBytes, int window, Duration linger, Duration firstRetry, Duration maxRetry,
            Duration unsupportedRecheck) {

        public static final Settings DEFAULT = new Settings(2_000, 1 << 20, 4, Duration.ofMillis(100),
                Duration.ofMillis(500), Duration.ofSeconds(5), Duration.ofMinutes(10));

        public Settings {
            if (maxEvents < 1 || maxBytes < 1 || window < 1) {
                throw new IllegalArgumentException("upload settings: maxEvents " + maxEvents + ", maxBytes " + maxBytes
                        + " and window " + window + " must each be at least 1");
            }
            if (linger.isNegative()) {
                throw new IllegalArgumentException("upload settings: linger " + linger + " must not be negative");
            }
        }
    }

    /** A stream that the control plane ended or refused, or a spool that failed under it. */
    static final class StreamEnded extends Exception {
        StreamEnded(String message, Throwable cause) {
            super(message, cause);
        }

        /** The control plane has no {@code UploadEvents} at all, as opposed to a stream that failed. */
        boolean unimplemented() {
            return getCause() != null && Status.fromThrowable(getCause()).getCode() == Status.Code.UNIMPLEMENTED;
        }
    }

    private static final long IDLE_PARK_NANOS = Duration.ofSeconds(1).toNanos();

    private final Channel channel;
    private final Spool spool;
    private final Settings settings;
    private final Consumer<String> log;
    private volatile Thread sender;

    public EventUploader(Channel channel, Spool spool, Settings settings, Consumer<String> log) {
        this.channel = channel;
        this.spool = spool;
        this.settings = settings;
        this.log = log;
    }

    /** Keeps a stream up until interrupted, waiting with backoff and jitter between failed ones. */
    public void run() throws InterruptedException {
        sender = Thread.currentThread();
        spool.onAppend(this::wake);
        SecureRandom random = new SecureRandom();
        Backoff backoff = new Backoff(settings.firstRetry(), settings.maxRetry(), Duration.ofMinutes(1), random);
        boolean toldUnsupported = false;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                long started = System.nanoTime();
                long ackedBefore = spool.stats().ackedThrough();
                Duration wait;
                String ended;
                try {
                    session();
                    ended = "event upload stream closed by the control plane";
                } catch (StreamEnded e) {
                    if (e.unimplemented()) {
                        if (!toldUnsupported) {
                            toldUnsupported = true;
                            log.accept("warning: the control plane does not accept connection events (UploadEvents is not"
                                    + " implemented: an older version?); events stay spooled, the oldest dropped and counted"
                                    + " when the spool is full; asking again every " + settings.unsupportedRecheck().toMinutes() + " min");
                        }
                        Thread.sleep(settings.unsupportedRecheck());
                        continue;
                    }
                    ended = "warning: event upload: " + e.getMessage() + "; events stay spooled";
                }
                toldUnsupported = false;
                if (spool.stats().ackedThrough() > ackedBefore) {
                    // The stream delivered: the control plane was up, so the next attempt starts short again.
                    backoff = new Backoff(settings.firstRetry(), settings.maxRetry(), Duration.ofMinutes(1), random);
                }
                wait = backoff.next(Duration.ofNanos(System.nanoTime() - started));
                log.accept(ended + "; retrying in " + wait.toMillis() + " ms");
                Thread.sleep(wait);
                if (channel instanceof ControlPlaneConnection connection) {
                    // Our own backoff paces the retries; gRPC's would add up to two minutes after a long outage.
                    connection.resetConnectBackoff();
                }
            }
        } finally {
            spool.onAppend(null);
        }
    }

    /** One stream: returns when the control plane completes it, throws when it fails. */
    void session() throws InterruptedException, StreamEnded {
        Stream stream = new Stream();
        long sentThrough;
        try {
            sentThrough = spool.stats().ackedThrough();
        } catch (RuntimeException e) {
            stream.cancel("the spool cannot be read");
            throw new StreamEnded("the spool cannot be read: " + e.getMessage(), e);
        }
        Set<Loss> lossesSent = new HashSet<>();
        long emptyAt = -1;
        long waitingSince = 0;
        try {
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (stream.throwIfEnded()) {
                    return;
                }
                if (stream.inFlight.get() >= settings.window() || !stream.ready()) {
                    LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                    continue;
                }
                Spool.Stats stats = spool.stats();
                List<Loss> losses = spool.losses();
                boolean newLosses = !lossesSent.containsAll(losses);
                long unread = stats.lastSeq() - Math.max(sentThrough, stats.ackedThrough());
                if ((unread <= 0 || stats.lastSeq() == emptyAt) && !newLosses) {
                    waitingSince = 0;
                    LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                    continue;
                }
                if (unread < settings.maxEvents() && !newLosses) {
                    long now = System.nanoTime();
                    if (waitingSince == 0) {
                        waitingSince = now;
                    }
                    long left = settings.linger().toNanos() - (now - waitingSince);
                    if (left > 0) {
                        LockSupport.parkNanos(this, left);
                        continue;
                    }
                }
                waitingSince = 0;
                Spool.Batch read = spool.read(sentThrough, settings.maxEvents(), settings.maxBytes());
                EventBatch batch = batch(read, losses);
                if (read.records().isEmpty()) {
                    // Every number up to lastSeq is lost, not readable: nothing more until the next append.
                    emptyAt = stats.lastSeq();
                }
                lossesSent.addAll(losses);
                if (batch.getEventsCount() == 0 && batch.getLossesCount() == 0) {
                    continue;
                }
                stream.send(batch);
                sentThrough = read.lastSeq(sentThrough);
            }
        } catch (IOException e) {
            stream.cancel("the spool failed");
            throw new StreamEnded("the spool cannot be read: " + e.getMessage(), e);
        } catch (InterruptedException | RuntimeException e) {
            stream.cancel("the agent is stopping");
            throw e;
        }
    }

    /** The spooled records as events numbered by their spool sequence, with the losses to report. */
    private EventBatch batch(Spool.Batch read, List<Loss> losses) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (Loss loss : losses) {
            batch.addLosses(wire(loss.firstSeq(), loss.lastSeq(), loss.count(), reason(loss.reason())));
        }
        for (Spool.Record record : read.records()) {
            try {
                batch.addEvents(ConnectionEvent.parseFrom(record.payload()).toBuilder().setSequence(record.seq()));
            } catch (InvalidProtocolBufferException e) {
                // Its checksum held, so the writer stored something that is no event: count it, never guess.
                log.accept("warning: spool record " + record.seq() + " is not a connection event (" + e.getMessage()
                        + "); reported as lost");
                batch.addLosses(wire(record.seq(), record.seq(), 1, EventLoss.Reason.CORRUPT));
            }
        }
        return batch.build();
    }

    private static EventLoss wire(long first, long last, long count, EventLoss.Reason reason) {
        return EventLoss.newBuilder().setFirstSequence(first).setLastSequence(last).setCount(count).setReason(reason).build();
    }

    private static EventLoss.Reason reason(Loss.Reason reason) {
        return switch (reason) {
            case FULL_DROPPED_OLDEST -> EventLoss.Reason.FULL_DROPPED_OLDEST;
            case CORRUPT -> EventLoss.Reason.CORRUPT;
            case TORN_TAIL -> EventLoss.Reason.TORN_TAIL;
        };
    }

    private void wake() {
        Thread thread = sender;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
    }

    /** One UploadEvents call: sends from the uploader's thread, takes acks on gRPC's. */
    private final class Stream implements ClientResponseObserver<EventBatch, EventAck> {
        final AtomicInteger inFlight = new AtomicInteger();
        private final AtomicReference<Throwable> ended = new AtomicReference<>();
        private volatile ClientCallStreamObserver<EventBatch> out;
        private volatile boolean completed;
        private boolean warnedAhead;

        Stream() {
            AgentGatewayGrpc.newStub(channel).uploadEvents(this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<EventBatch> requests) {
            out = requests;
            requests.setOnReadyHandler(EventUploader.this::wake);
        }

        boolean ready() {
            return out.isReady();
        }

        void send(EventBatch batch) {
            inFlight.incrementAndGet();
            out.onNext(batch);
        }

        void cancel(String why) {
            if (ended.get() == null) {
                out.cancel(why, null);
            }
        }

        /** False while the stream is up; true once the control plane completed it (ours is then completed too). */
        boolean throwIfEnded() throws StreamEnded {
            Throwable cause = ended.get();
            if (cause == null) {
                return false;
            }
            if (completed) {
                out.onCompleted();
                return true;
            }
            throw new StreamEnded(Status.fromThrowable(cause).getCode() + ": " + describe(cause), cause);
        }

        @Override
        public void onNext(EventAck ack) {
            long through = ack.getStoredThroughSequence();
            try {
                long last = spool.stats().lastSeq();
                if (through > last) {
                    // The control plane has seen numbers this spool never issued (its state was reset):
                    // everything here is covered, and new numbers continue above its own last.
                    if (!warnedAhead) {
                        warnedAhead = true;
                        log.accept("warning: the control plane acknowledges sequence " + through + ", beyond the last this spool issued ("
                                + last + "); was the state directory reset? Events numbered at or below " + through + " are skipped by the control plane");
                    }
                    through = last;
                }
                spool.ack(through);
            } catch (IOException | RuntimeException e) {
                ended.compareAndSet(null, e);
                out.cancel("the spool cannot take the acknowledgement", e);
            } finally {
                inFlight.decrementAndGet();
                wake();
            }
        }

        @Override
        public void onError(Throwable error) {
            ended.compareAndSet(null, error);
            wake();
        }

        @Override
        public void onCompleted() {
            completed = true;
            ended.compareAndSet(null, new IllegalStateException("completed"));
            wake();
        }
    }

    private static String describe(Throwable cause) {
        Status status = Status.fromThrowable(cause);
        if (status.getDescription() != null) {
            return status.getDescription();
        }
        return cause.getCause() != null && cause.getCause().getMessage() != null ? cause.getCause().getMessage() : String.valueOf(cause.getMessage());
    }
}
