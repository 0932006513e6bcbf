package dev.clawfence.bench.fanout;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.clawfence.agent.sync.PinnedTrust;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.AgentHello;
import dev.clawfence.proto.agent.v1.AgentMessage;
import dev.clawfence.proto.agent.v1.ApplyResult;
import dev.clawfence.proto.agent.v1.ControlMessage;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import dev.clawfence.proto.agent.v1.Ping;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import dev.clawfence.proto.agent.v1.ProtocolVersion;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;
import javax.net.ssl.SSLException;

/**
 * Simulated edge agents: each enrols with its own key pair and CSR, then holds one Sync stream on its
 * own mutual-TLS connection (its certificate is its identity, as for a real agent), says hello, and
 * records when each policy version arrives. All connections share this JVM's event loops and deliver
 * callbacks on them directly, so 10,000 agents cost a few threads. With {@code replies}, each agent
 * answers an update as the real agent does after applying it: a ping (commit-confirmed round trip),
 * then {@code APPLIED} once the pong is back.
 * <p>An agent takes an update as its bytes and reads only the version from them; it proves it got the
 * whole update by its length and CRC32C, equal to those of an update of that version that was parsed in
 * full (the first one to arrive, and any whose bytes differ). Parsing each 4 KiB update again on each of
 * 10,000 agents was a share of the same 2 cores the control plane runs on.
 */
final class AgentFleet implements AutoCloseable {

    /** An enrolled agent's key and certificate chain (its certificate first, the CA last). */
    record Identity(KeyPair key, List<X509Certificate> chain) {}

    private final String host;
    private final int port;
    private final EventLoopGroup group;
    private final List<ManagedChannel> channels = new ArrayList<>();
    static final int CONNECT_ATTEMPTS = 5;

    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger retries = new AtomicInteger();
    private final Map<String, Integer> failureReasons = new ConcurrentHashMap<>();
    private final AtomicLong updateBytes = new AtomicLong();
    private final AtomicLong updates = new AtomicLong();
    /** The Sync call as the agents make it, with the server's messages left as bytes. */
    private static final MethodDescriptor<AgentMessage, byte[]> SYNC = AgentGatewayGrpc.getSyncMethod()
            .toBuilder(ProtoUtils.marshaller(AgentMessage.getDefaultInstance()), ReferenceServer.BYTES).build();
    /** Length and CRC32C of update encodings that were parsed in full, per version. */
    private final Map<Long, Set<Encoding>> verified = new ConcurrentHashMap<>();
    private final LongAdder parsedInFull = new LongAdder();
    private final LongAdder matched = new LongAdder();
    private volatile int baseVersion = Integer.MAX_VALUE;
    private volatile Deliveries deliveries;

    AgentFleet(String host, int port, EventLoopGroup group) {
        this.host = host;
        this.port = port;
        this.group = group;
    }

    /**
     * Enrols {@code count} agents, at most {@code concurrency} at a time, over one TLS connection that
     * trusts the gateway through the CA pin in the token. Agent {@code i} uses token {@code i % tokens}:
     * enrolments of one token queue on its row lock, so consecutive ones go to different tokens.
     */
    List<Identity> enrol(List<String> tokens, int count, int concurrency) throws Exception {
        // The agent's own trust manager: the CA pin from the token, and the gateway's name checked.
        PinnedTrust trust = new PinnedTrust(Pki.pinOf(tokens.getFirst()));
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, port)
                .sslContext(GrpcSslContexts.forClient().trustManager(trust).build())
                .eventLoopGroup(group).channelType(NioSocketChannel.class).directExecutor().build();
        try {
            AgentGatewayGrpc.AgentGatewayStub stub = AgentGatewayGrpc.newStub(channel);
            AtomicReferenceArray<Identity> enrolled = new AtomicReferenceArray<>(count);
            Semaphore inFlight = new Semaphore(concurrency);
            CountDownLatch done = new CountDownLatch(count);
            List<String> errors = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                inFlight.acquire();
                int index = i;
                KeyPair key = Pki.newKeyPair();
                stub.withDeadlineAfter(120, TimeUnit.SECONDS).enroll(EnrollRequest.newBuilder()
                        .setToken(tokens.get(i % tokens.size()))
                        .setCsrDer(ByteString.copyFrom(Pki.csr(key)))
                        .setHostname("fanout-" + i)
                        .setAgentVersion("fanout-bench")
                        .build(), new StreamObserver<>() {
                            @Override
                            public void onNext(EnrollResponse response) {
                                enrolled.set(index, new Identity(key, response.getCertificateChainDerList().stream()
                                        .map(der -> Pki.certificate(der.toByteArray())).toList()));
                            }

                            @Override
                            public void onError(Throwable t) {
                                synchronized (errors) {
                                    errors.add(Status.fromThrowable(t).toString());
                                }
                                inFlight.release();
                                done.countDown();
                            }

                            @Override
                            public void onCompleted() {
                                inFlight.release();
                                done.countDown();
                            }
                        });
            }
            done.await();
            if (!errors.isEmpty()) {
                throw new IllegalStateException(errors.size() + " enrolments failed, the first: " + errors.getFirst());
            }
            List<Identity> identities = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                identities.add(enrolled.get(i));
            }
            return identities;
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Opens one Sync stream per identity, each on its own connection, at most {@code concurrency}
     * handshakes at a time; returns when every stream got its first policy update or failed.
     */
    void connect(List<Identity> identities, int concurrency, boolean replies) throws InterruptedException, SSLException {
        Semaphore inFlight = new Semaphore(concurrency);
        CountDownLatch settled = new CountDownLatch(identities.size());
        for (int i = 0; i < identities.size(); i++) {
            inFlight.acquire();
            Identity identity = identities.get(i);
            SslContext tls = GrpcSslContexts.forClient()
                    .keyManager(identity.key().getPrivate(), identity.chain().toArray(X509Certificate[]::new))
                    .trustManager(identity.chain().getLast())
                    .build();
            ManagedChannel channel = NettyChannelBuilder.forAddress(host, port).sslContext(tls)
                    .eventLoopGroup(group).channelType(NioSocketChannel.class).directExecutor().build();
            channels.add(channel);
            new Agent(i, channel, inFlight, settled, replies).start();
        }
        settled.await();
    }

    /** From now on, version {@code base + 1 + n} counts as broadcast {@code n} in {@code into}. */
    void record(int base, Deliveries into) {
        this.deliveries = into;
        this.baseVersion = base;
    }

    /** Streams that ended (or never came up after {@value #CONNECT_ATTEMPTS} attempts). */
    int failures() {
        return failures.get();
    }

    /** Connection attempts repeated after a failure. */
    int retries() {
        return retries.get();
    }

    Map<String, Integer> failureReasons() {
        return Map.copyOf(failureReasons);
    }

    /** Mean serialized size of the policy updates of the measured saves (not the first update of each stream). */
    long meanUpdateBytes() {
        long n = updates.get();
        return n == 0 ? 0 : updateBytes.get() / n;
    }

    /** Updates parsed in full, and updates taken as a verified encoding by length and CRC32C. */
    long parsedInFull() {
        return parsedInFull.sum();
    }

    long matched() {
        return matched.sum();
    }

    private record Encoding(int length, long crc) {}

    /** Protobuf tags (field number, then 3 bits of wire type) of ControlMessage.policy_update and PolicyUpdate.version. */
    private static final int UPDATE_TAG = ControlMessage.POLICY_UPDATE_FIELD_NUMBER << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
    private static final int VERSION_TAG = PolicyUpdate.VERSION_FIELD_NUMBER << 3 | WireFormat.WIRETYPE_VARINT;

    /**
     * The version of the policy update in {@code message} (a ControlMessage), after checking that these
     * bytes are an update of that version; -1 when the message is no policy update.
     */
    private long verifiedVersion(byte[] message) throws InvalidProtocolBufferException {
        long version = updateVersion(message);
        if (version < 0) {
            return -1;
        }
        CRC32C crc = new CRC32C();
        crc.update(message);
        Encoding encoding = new Encoding(message.length, crc.getValue());
        Set<Encoding> known = verified.computeIfAbsent(version, v -> ConcurrentHashMap.newKeySet());
        if (known.contains(encoding)) {
            matched.increment();
            return version;
        }
        PolicyUpdate update = ControlMessage.parseFrom(message).getPolicyUpdate();
        if (update.getVersion() != version || !update.hasPolicy()) {
            throw new InvalidProtocolBufferException("policy update of version " + version + " parsed as version "
                    + update.getVersion() + (update.hasPolicy() ? "" : " without a policy"));
        }
        parsedInFull.increment();
        known.add(encoding);
        return version;
    }

    /** ControlMessage.policy_update.version read from the bytes without parsing the rest; -1 if no update. */
    static long updateVersion(byte[] message) throws InvalidProtocolBufferException {
        try {
            CodedInputStream in = CodedInputStream.newInstance(message);
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (tag != UPDATE_TAG) {
                    in.skipField(tag);
                    continue;
                }
                int limit = in.pushLimit(in.readRawVarint32());
                long version = 0;
                while ((tag = in.readTag()) != 0) {
                    if (tag == VERSION_TAG) {
                        version = in.readInt64();
                    } else {
                        in.skipField(tag);
                    }
                }
                in.popLimit(limit);
                return version;
            }
            return -1;
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidProtocolBufferException(e);
        }
    }

    private final class Agent implements StreamObserver<byte[]> {
        private final int index;
        private final ManagedChannel channel;
        private final Semaphore inFlight;
        private final CountDownLatch settled;
        private final boolean replies;
        private StreamObserver<AgentMessage> requests;
        private boolean connected;
        private boolean ended;
        private int attempts;
        private long pendingVersion;

        Agent(int index, ManagedChannel channel, Semaphore inFlight, CountDownLatch settled, boolean replies) {
            this.index = index;
            this.channel = channel;
            this.inFlight = inFlight;
            this.settled = settled;
            this.replies = replies;
        }

        synchronized void start() {
            requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(SYNC, CallOptions.DEFAULT), this);
            requests.onNext(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
                    .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                    .setAgentVersion("fanout-bench")
                    .putHostFacts("hostname", "fanout-" + index)
                    .putHostFacts("backend", "dry-run")).build());
        }

        @Override
        public synchronized void onNext(byte[] bytes) {
            long version;
            try {
                version = verifiedVersion(bytes);
            } catch (InvalidProtocolBufferException e) {
                end("a malformed message: " + e.getMessage());
                return;
            }
            if (version >= 0) {
                Deliveries into = deliveries;
                if (into != null && version > baseVersion) {
                    into.received((int) (version - baseVersion - 1), index);
                    updates.incrementAndGet();
                    updateBytes.addAndGet(bytes.length);
                }
                if (!connected) {
                    connected = true;
                    inFlight.release();
                    settled.countDown();
                }
                if (replies) {
                    pendingVersion = version;
                    requests.onNext(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(pendingVersion)).build());
                }
                return;
            }
            ControlMessage message;
            try {
                message = ControlMessage.parseFrom(bytes);
            } catch (InvalidProtocolBufferException e) {
                end("a malformed message: " + e.getMessage());
                return;
            }
            if (message.hasPong() && replies && message.getPong().getNonce() == pendingVersion) {
                requests.onNext(AgentMessage.newBuilder().setApplyResult(ApplyResult.newBuilder()
                        .setPolicyVersion(pendingVersion)
                        .setOutcome(ApplyResult.Outcome.APPLIED)
                        .setRulesetHash("fanout-" + pendingVersion)).build());
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            end(Status.fromThrowable(t).getCode() + ": " + Status.fromThrowable(t).getDescription());
        }

        @Override
        public synchronized void onCompleted() {
            end("completed by the server");
        }

        private void end(String reason) {
            if (ended) {
                return;
            }
            if (!connected && ++attempts < CONNECT_ATTEMPTS) {
                // A handshake can time out on a starved machine; a real agent retries too.
                retries.incrementAndGet();
                group.schedule(this::start, 1, TimeUnit.SECONDS);
                return;
            }
            ended = true;
            failures.incrementAndGet();
            failureReasons.merge(reason, 1, Integer::sum);
            if (!connected) {
                connected = true;
                inFlight.release();
                settled.countDown();
            }
        }
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
