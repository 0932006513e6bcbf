package dev.clawfence.bench.fanout;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;

/**
 * Subscribers of the {@link ReferenceServer}: one TLS connection and one server-streaming call each,
 * on the same shared event loops as {@link AgentFleet}, recording when each broadcast arrives.
 */
final class ReferenceClients implements AutoCloseable {

    private final String host;
    private final int port;
    private final EventLoopGroup group;
    private final SslContext tls;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger retries = new AtomicInteger();
    private final Map<String, Integer> failureReasons = new ConcurrentHashMap<>();
    private volatile Deliveries deliveries;
    private ManagedChannel control;

    ReferenceClients(String host, int port, EventLoopGroup group, X509Certificate serverCertificate) throws SSLException {
        this.host = host;
        this.port = port;
        this.group = group;
        this.tls = GrpcSslContexts.forClient().trustManager(serverCertificate).build();
    }

    private ManagedChannel channel() {
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, port).sslContext(tls)
                .eventLoopGroup(group).channelType(NioSocketChannel.class).directExecutor().build();
        channels.add(channel);
        return channel;
    }

    /** Opens {@code count} subscriptions, each on its own connection; returns once each is up or failed. */
    void connect(int count, int concurrency) throws InterruptedException {
        Semaphore inFlight = new Semaphore(concurrency);
        CountDownLatch settled = new CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            inFlight.acquire();
            new Subscriber(i, channel(), inFlight, settled).start();
        }
        settled.await();
    }

    private final class Subscriber implements StreamObserver<byte[]> {
        private final int index;
        private final ManagedChannel channel;
        private final Semaphore inFlight;
        private final CountDownLatch settled;
        private boolean up;
        private boolean ended;
        private int attempts;

        Subscriber(int index, ManagedChannel channel, Semaphore inFlight, CountDownLatch settled) {
            this.index = index;
            this.channel = channel;
            this.inFlight = inFlight;
            this.settled = settled;
        }

        synchronized void start() {
            ClientCalls.asyncServerStreamingCall(channel.newCall(ReferenceServer.SUBSCRIBE, CallOptions.DEFAULT),
                    new byte[0], this);
        }

        @Override
        public synchronized void onNext(byte[] message) {
            if (!up) {
                up = true;
                inFlight.release();
                settled.countDown();
                return;
            }
            Deliveries into = deliveries;
            if (into != null && message.length >= 4) {
                into.received(ByteBuffer.wrap(message).getInt(), index);
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            if (ended) {
                return;
            }
            if (!up && ++attempts < AgentFleet.CONNECT_ATTEMPTS) {
                retries.incrementAndGet();
                group.schedule(this::start, 1, TimeUnit.SECONDS);
                return;
            }
            ended = true;
            failures.incrementAndGet();
            failureReasons.merge(Status.fromThrowable(t).getCode() + ": " + Status.fromThrowable(t).getDescription(),
                    1, Integer::sum);
            if (!up) {
                up = true;
                inFlight.release();
                settled.countDown();
            }
        }

        @Override
        public void onCompleted() {
            onError(Status.UNAVAILABLE.withDescription("completed by the server").asRuntimeException());
        }
    }

    void record(Deliveries into) {
        this.deliveries = into;
    }

    /**
     * Asks the server to send broadcast {@code seq} of {@code size} bytes to every subscriber; returns how
     * many it wrote to. The control connection is opened by the first call, so warm it up with a
     * broadcast nobody records (a negative {@code seq}).
     */
    int broadcast(int seq, int size) {
        if (control == null) {
            control = channel();
        }
        byte[] reply = ClientCalls.blockingUnaryCall(control, ReferenceServer.BROADCAST,
                CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS),
                ByteBuffer.allocate(8).putInt(seq).putInt(size).array());
        return ByteBuffer.wrap(reply).getInt();
    }

    int failures() {
        return failures.get();
    }

    int retries() {
        return retries.get();
    }

    Map<String, Integer> failureReasons() {
        return Map.copyOf(failureReasons);
    }

    @Override
    public void close() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel channel : channels) {
            channel.awaitTermination(10, TimeUnit.SECONDS);
        }
        channels.clear();
    }
}
