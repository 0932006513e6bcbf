package dev.clawfence.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.agent.spool.SpoolLimits;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.EventAck;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uploader against an in-process gateway that stores like the control plane (each sequence once,
 * the ack names the mark) and can be told to break streams.
 */
class EventUploaderTest {

    private static final EventUploader.Settings FAST = new EventUploader.Settings(500, 1 << 20, 3, Duration.ofMillis(20),
            Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofMillis(100));

    @TempDir
    Path dir;

    private final Map<Long, ConnectionEvent> stored = new ConcurrentHashMap<>();
    private final List<EventBatch> batches = new CopyOnWriteArrayList<>();
    private final List<EventLoss> losses = new CopyOnWriteArrayList<>();
    private final AtomicLong mark = new AtomicLong();
    private final AtomicInteger streams = new AtomicInteger();
    /** Break the stream instead of storing the batch with this ordinal (over all streams), once. */
    private volatile int failAtBatch = -1;
    /** Answer like a control plane from before UploadEvents existed. */
    private volatile boolean unimplemented;
    private final AtomicInteger batchOrdinal = new AtomicInteger();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private Server server;
    private ManagedChannel channel;
    private Spool spool;
    private Thread uploading;

    @BeforeEach
    void startGateway() throws IOException {
        String name = "uploader-" + System.nanoTime();
        server = InProcessServerBuilder.forName(name).addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
            @Override
            public StreamObserver<EventBatch> uploadEvents(StreamObserver<EventAck> acks) {
                streams.incrementAndGet();
                if (unimplemented) {
                    acks.onError(Status.UNIMPLEMENTED.withDescription("Method not found: UploadEvents").asRuntimeException());
                }
                return new StreamObserver<>() {
                    @Override
                    public void onNext(EventBatch batch) {
                        if (batchOrdinal.getAndIncrement() == failAtBatch) {
                            acks.onError(Status.UNAVAILABLE.withDescription("test: database down").asRuntimeException());
                            return;
                        }
                        batches.add(batch);
                        losses.addAll(batch.getLossesList());
                        for (ConnectionEvent event : batch.getEventsList()) {
                            if (event.getSequence() > mark.get()) {
                                stored.putIfAbsent(event.getSequence(), event);
                                mark.set(event.getSequence());
                            }
                        }
                        acks.onNext(EventAck.newBuilder().setStoredThroughSequence(mark.get()).build());
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {
                        acks.onCompleted();
                    }
                };
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    @AfterEach
    void stop() throws Exception {
        if (uploading != null) {
            uploading.interrupt();
            uploading.join(5_000);
        }
        channel.shutdownNow();
        server.shutdownNow();
        if (spool != null) {
            spool.close();
        }
    }

    private void startUploader() {
        EventUploader uploader = new EventUploader(channel, spool, FAST, log::add);
        uploading = Thread.ofPlatform().daemon().start(() -> {
            try {
                uploader.run();
            } catch (InterruptedException e) {
                // stopped by the test
            }
        });
    }

    private static byte[] event(int port) {
        return ConnectionEvent.newBuilder().setSourceAddress(ByteString.copyFrom(new byte[] {(byte) 198, 51, 100, 7}))
                .setSourcePort(port).setReason("not-allowlisted").build().toByteArray();
    }

    private void append(int from, int count) throws IOException {
        for (int i = from; i < from + count; i++) {
            spool.append(event(1024 + i));
        }
    }

    @Test
    void everyEventArrivesOnceNumberedByTheSpoolAndAcksDeleteTheSegments() throws IOException {
        spool = Spool.open(dir, SpoolLimits.defaults().withSegmentBytes(16 << 10).withMaxBytes(64L << 20), Clock.systemUTC());
        append(0, 3_000);
        startUploader();
        append(3_000, 2_000);

        await().atMost(Duration.ofSeconds(20)).until(() -> stored.size() == 5_000 && spool.stats().ackedThrough() == 5_000);

        assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(range(1, 5_000));
        // The payload travels as it was spooled, with the spool's number as the sequence.
        assertThat(stored.get(42L).getSourcePort()).isEqualTo(1024 + 41);
        assertThat(batches).allSatisfy(b -> assertThat(b.getEventsCount()).isBetween(1, 500));
        assertThat(spool.stats().segments()).isEqualTo(1);
        assertThat(spool.stats().recordsPending()).isZero();
    }

    @Test
    void aBrokenStreamIsReopenedAndResentFromTheAckWithoutGaps() throws IOException {
        spool = Spool.open(dir, SpoolLimits.defaults(), Clock.systemUTC());
        failAtBatch = 2;
        append(0, 2_000);
        startUploader();

        await().atMost(Duration.ofSeconds(20)).until(() -> stored.size() == 2_000 && spool.stats().ackedThrough() == 2_000);

        assertThat(streams.get()).isGreaterThanOrEqualTo(2);
        assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(range(1, 2_000));
        assertThat(log).anySatisfy(line -> assertThat(line).startsWith("warning: event upload: UNAVAILABLE: test: database down"));
    }

    @Test
    void lossesTravelWithTheBatchesUntilAnAckCoversThem() throws IOException {
        // Tiny segments and limit: appends with no uploader running push the oldest out.
        spool = Spool.open(dir, new SpoolLimits(8 << 10, 2 << 10, 1_000, Duration.ofSeconds(1), 1_000), Clock.systemUTC());
        append(0, 1_000);
        List<dev.clawfence.agent.spool.Loss> pending = spool.losses();
        assertThat(pending).isNotEmpty();
        long dropped = pending.stream().mapToLong(dev.clawfence.agent.spool.Loss::count).sum();
        startUploader();

        await().atMost(Duration.ofSeconds(20)).until(() -> spool.stats().ackedThrough() == 1_000);

        assertThat(losses).extracting(EventLoss::getReason).containsOnly(EventLoss.Reason.FULL_DROPPED_OLDEST);
        assertThat(losses.stream().filter(l -> l.getFirstSequence() == 1).findFirst()).isPresent();
        assertThat(stored.size() + dropped).isEqualTo(1_000);
        assertThat(spool.losses()).isEmpty();
    }

    @Test
    void aControlPlaneWithoutUploadEventsIsToldOnceAndAskedRarely() throws IOException {
        spool = Spool.open(dir, SpoolLimits.defaults(), Clock.systemUTC());
        unimplemented = true;
        append(0, 10);
        startUploader();

        await().atMost(Duration.ofSeconds(5)).until(() -> streams.get() >= 4);
        assertThat(log).hasSize(1).first().asString()
                .startsWith("warning: the control plane does not accept connection events (UploadEvents is not implemented");
        assertThat(spool.stats().recordsPending()).isEqualTo(10);

        // Upgraded: the next try uploads everything.
        unimplemented = false;
        await().atMost(Duration.ofSeconds(5)).until(() -> spool.stats().ackedThrough() == 10);
        assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(range(1, 10));
        assertThat(log).hasSize(1);
    }

    private static List<Long> range(long first, long last) {
        List<Long> out = new ArrayList<>();
        for (long i = first; i <= last; i++) {
            out.add(i);
        }
        return out;
    }
}
