package dev.clawfence.agent.events;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The flood generator of {@link EventCaptureIT}, run inside the client namespace:
 * {@code Flood SOURCE DEST FIRST_PORT PORTS COUNT RATE PROBE_SOURCE PROBE_PORT}. Sends {@code COUNT} udp
 * datagrams from {@code SOURCE} to {@code DEST} on closed ports {@code FIRST_PORT..FIRST_PORT+PORTS-1}
 * (each a new connection attempt: the rejected one leaves no conntrack entry), paced to {@code RATE}
 * a second so the veth's backlog never drops one before netfilter counts it; meanwhile it connects
 * from {@code PROBE_SOURCE} to {@code DEST:PROBE_PORT} every 20 ms and measures how long each takes.
 * Prints one line: {@code SENT n SECONDS s CONNECTS ok FAILED f MAXMS m}. Documentation addresses only;
 * bounded in count and time.
 */
public final class Flood {

    public static void main(String[] args) throws Exception {
        InetAddress source = InetAddress.ofLiteral(args[0]);
        InetAddress destination = InetAddress.ofLiteral(args[1]);
        int firstPort = Integer.parseInt(args[2]);
        int ports = Integer.parseInt(args[3]);
        int count = Integer.parseInt(args[4]);
        int rate = Integer.parseInt(args[5]);
        InetSocketAddress probeFrom = new InetSocketAddress(InetAddress.ofLiteral(args[6]), 0);
        InetSocketAddress probeTo = new InetSocketAddress(destination, Integer.parseInt(args[7]));

        AtomicBoolean done = new AtomicBoolean();
        long[] probes = new long[3];
        Thread prober = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                long started = System.nanoTime();
                try (Socket socket = new Socket()) {
                    socket.bind(probeFrom);
                    socket.connect(probeTo, 2000);
                    probes[0]++;
                } catch (java.io.IOException e) {
                    probes[1]++;
                }
                probes[2] = Math.max(probes[2], TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        });

        ByteBuffer payload = ByteBuffer.wrap(new byte[] {'x'});
        long started = System.nanoTime();
        int sent = 0;
        try (DatagramChannel channel = DatagramChannel.open()) {
            channel.bind(new InetSocketAddress(source, 0));
            for (int i = 0; i < count; i++) {
                channel.send(payload.rewind(), new InetSocketAddress(destination, firstPort + i % ports));
                sent++;
                if (i % 500 == 499) {
                    long due = started + (long) ((i + 1) * 1e9 / rate);
                    long ahead = due - System.nanoTime();
                    if (ahead > 0) {
                        LockSupport.parkNanos(ahead);
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        // A few probes after the flood as well: the host must still answer at once.
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        done.set(true);
        prober.join();
        System.out.printf("SENT %d SECONDS %.3f CONNECTS %d FAILED %d MAXMS %d%n", sent, seconds, probes[0], probes[1], probes[2]);
    }
}
