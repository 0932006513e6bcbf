package dev.clawfence.bench.fanout;

import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * The reference: the smallest gRPC server-streaming service that fans one message out to every
 * subscriber, over TLS like the agent gateway, with nothing else (no database, no per-stream state, no
 * policy). {@code Subscribe} answers with one byte at once (so the client knows the stream is up), then
 * every broadcast; {@code Broadcast(seq, size)} writes a message of {@code size} bytes starting with
 * {@code seq} to every subscriber and returns when all writes were handed to gRPC.
 * Runs in its own JVM: {@code java -cp benchmarks.jar dev.clawfence.bench.fanout.ReferenceServer PORT}.
 */
public final class ReferenceServer {

    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                // gRPC hands a message over as a KnownLength stream: one array of the right size, where
                // readAllBytes() zeroes a 16 KiB scratch buffer per message and copies twice (a fifth of the
                // simulated agents' CPU during a save, in a JFR profile).
                if (stream instanceof KnownLength) {
                    byte[] message = new byte[stream.available()];
                    if (stream.readNBytes(message, 0, message.length) == message.length && stream.read() == -1) {
                        return message;
                    }
                    throw new IOException("a message shorter or longer than its announced " + message.length + " bytes");
                }
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static final MethodDescriptor<byte[], byte[]> SUBSCRIBE = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName("clawfence.bench.Reference/Subscribe")
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

    static final MethodDescriptor<byte[], byte[]> BROADCAST = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("clawfence.bench.Reference/Broadcast")
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

    private ReferenceServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: ReferenceServer PORT");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        KeyPair key = Pki.newKeyPair();
        X509Certificate certificate = Pki.selfSigned(key);
        Set<ServerCallStreamObserver<byte[]>> subscribers = ConcurrentHashMap.newKeySet();
        ServerServiceDefinition service = ServerServiceDefinition.builder("clawfence.bench.Reference")
                .addMethod(SUBSCRIBE, ServerCalls.asyncServerStreamingCall((request, response) -> {
                    ServerCallStreamObserver<byte[]> out = (ServerCallStreamObserver<byte[]>) response;
                    out.setOnCancelHandler(() -> subscribers.remove(out));
                    synchronized (out) {
                        out.onNext(new byte[] {0});
                    }
                    subscribers.add(out);
                }))
                .addMethod(BROADCAST, ServerCalls.asyncUnaryCall((request, response) -> {
                    ByteBuffer in = ByteBuffer.wrap(request);
                    int seq = in.getInt();
                    int size = in.getInt();
                    byte[] message = new byte[Math.max(size, 4)];
                    ByteBuffer.wrap(message).putInt(seq);
                    int sent = 0;
                    for (ServerCallStreamObserver<byte[]> out : subscribers) {
                        synchronized (out) {
                            out.onNext(message);
                        }
                        sent++;
                    }
                    response.onNext(ByteBuffer.allocate(4).putInt(sent).array());
                    response.onCompleted();
                }))
                .build();
        Server server = NettyServerBuilder.forPort(port)
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(key.getPrivate(), certificate)).build())
                .addService(service)
                .build()
                .start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }));
        System.out.println("CERT " + Base64.getEncoder().encodeToString(der(certificate)));
        System.out.println("READY " + server.getPort());
        System.out.flush();
        stopped.await();
    }

    private static byte[] der(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
