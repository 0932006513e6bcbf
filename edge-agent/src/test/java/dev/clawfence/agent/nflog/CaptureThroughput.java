package dev.clawfence.agent.nflog;

import dev.clawfence.agent.events.EventCapture;
import dev.clawfence.agent.events.InterfaceNames;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.agent.spool.SpoolLimits;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The capture benchmark (BENCHMARKS.md), run by {@link CaptureThroughputIT} in a JVM with the agent's
 * own flags: {@code CaptureThroughput PACKETS}. In {@link NflogLab}'s namespaces each udp packet of the
 * burst is logged {@link NflogLab#BURST_LOGS} times; the same burst goes first into a loop that only
 * receives and counts messages (the reference: what the socket delivers), then through the agent's real
 * path, {@link EventCapture}: parse, decode the prefix, build and serialize each ConnectionEvent, append
 * to a {@link Spool} with group fsync. Prints one line per run with events/s and what was lost.
 */
public final class CaptureThroughput {

    public static void main(String[] args) throws Exception {
        int packets = Integer.parseInt(args[0]);
        offered = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        try (NflogLab lab = NflogLab.create()) {
            // Warm-up of both paths, so the measured runs see the agent's compiled code, as a running agent would.
            raw(lab, packets / 10);
            capture(lab, packets / 10);
            System.out.println("CAPTURE reference (recv only): " + raw(lab, packets));
            System.out.println("CAPTURE agent path (reader -> events -> spool): " + capture(lab, packets));
        }
    }

    /** Events a second the sender offers (packets x {@link NflogLab#BURST_LOGS}); 0: as fast as one thread sends. */
    private static int offered;

    /** {@link NflogLab#burst}, paced to {@link #offered} when set. */
    private static double send(NflogLab lab, int packets) throws java.io.IOException {
        if (offered == 0) {
            return lab.burst(packets);
        }
        return NetworkNamespace.call(NetworkNamespace.named(lab.peer.name()), () -> {
            try (java.nio.channels.DatagramChannel channel = java.nio.channels.DatagramChannel.open(java.net.StandardProtocolFamily.INET)) {
                channel.bind(new java.net.InetSocketAddress(NflogLab.PEER4, 0));
                ByteBuffer payload = ByteBuffer.wrap("burst".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                java.net.InetAddress to = java.net.InetAddress.getByName(NflogLab.HOST4);
                double packetsPerSecond = offered / (double) NflogLab.BURST_LOGS;
                long start = System.nanoTime();
                for (int i = 0; i < packets; i++) {
                    channel.send(payload.clear(), new java.net.InetSocketAddress(to, NflogLab.BURST_FIRST_PORT + i % NflogLab.BURST_PORTS));
                    if (i % 100 == 99) {
                        long ahead = start + (long) ((i + 1) / packetsPerSecond * 1e9) - System.nanoTime();
                        if (ahead > 0) {
                            LockSupport.parkNanos(ahead);
                        }
                    }
                }
                return (System.nanoTime() - start) / 1e9;
            }
        });
    }

    private static String raw(NflogLab lab, int packets) throws Exception {
        long before = lab.burstCounter();
        NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP));
        AtomicLong messages = new AtomicLong();
        AtomicLong last = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread thread = Thread.ofPlatform().name("raw").start(() -> {
            try (socket) {
                while (!stop.get()) {
                    ByteBuffer datagram = socket.receive();
                    if (datagram == null) {
                        continue;
                    }
                    ByteBuffer host = datagram.order(ByteOrder.nativeOrder());
                    int offset = 0;
                    long count = 0;
                    while (offset + 16 <= host.limit()) {
                        int length = host.getInt(offset);
                        if (length < 16) {
                            break;
                        }
                        if ((host.getShort(offset + 4) & 0xffff) == 0x0400) {
                            count++;
                        }
                        offset += (length + 3) & ~3;
                    }
                    messages.addAndGet(count);
                    last.set(System.nanoTime());
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long start = System.nanoTime();
        double sendSeconds = lab.burst(packets);
        long logged = (lab.burstCounter() - before) * NflogLab.BURST_LOGS;
        waitFor(() -> messages.get() >= logged || socket.overruns() > 0 && quiet(last));
        double cpuSeconds = cpuSeconds("raw");
        stop.set(true);
        thread.join();
        return line(logged, messages.get(), socket.overruns(), 0, sendSeconds, (last.get() - start) / 1e9)
                + String.format("; reading thread CPU %.3f s = %.0f events per CPU-second", cpuSeconds, messages.get() / cpuSeconds);
    }

    private static String capture(NflogLab lab, int packets) throws Exception {
        long before = lab.burstCounter();
        Path dir = Files.createTempDirectory("cf-capture-bench");
        try (Spool spool = Spool.open(dir, SpoolLimits.defaults(), Clock.systemUTC())) {
            NflogSocket socket = NflogSocket.openIn(lab.hostNamespace(), NflogSocket.Options.forGroup(NflogLab.GROUP));
            EventCapture capture = EventCapture.start(socket, spool, new InterfaceNames(index -> "nl0", Clock.systemUTC()), Clock.systemUTC(),
                    System.out::println);
            long start = System.nanoTime();
            double sendSeconds = send(lab, packets);
            long logged = (lab.burstCounter() - before) * NflogLab.BURST_LOGS;
            AtomicLong last = new AtomicLong(System.nanoTime());
            AtomicLong seen = new AtomicLong();
            waitFor(() -> {
                EventCapture.Stats stats = capture.stats();
                long now = stats.spooled() + stats.reader().lost() + stats.unspooled();
                if (now != seen.getAndSet(now)) {
                    last.set(System.nanoTime());
                }
                return now >= logged || quiet(last);
            });
            // Spooled means appended (in the page cache; fsync follows in groups): the rate is to the last append.
            long end = last.get();
            double cpuSeconds = cpuSeconds("nflog-capture");
            capture.close();
            EventCapture.Stats stats = capture.stats();
            return line(logged, stats.spooled(), stats.reader().overruns(), stats.reader().lost(), sendSeconds, (end - start) / 1e9)
                    + String.format(", spool last seq %d, malformed %d, undecodable %d; capture thread CPU %.3f s = %.0f events per CPU-second",
                            spool.stats().lastSeq(), stats.reader().malformed(), stats.undecodable(), cpuSeconds, stats.spooled() / cpuSeconds);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
    }

    /** CPU time of the live thread named {@code name}: what the path costs, whatever else the 2 cores are running. */
    private static double cpuSeconds(String name) {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        for (java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().equals(name)) {
                return threads.getThreadCpuTime(info.getThreadId()) / 1e9;
            }
        }
        return Double.NaN;
    }

    private static boolean quiet(AtomicLong last) {
        return System.nanoTime() - last.get() > TimeUnit.SECONDS.toNanos(2);
    }

    private static void waitFor(java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static String line(long logged, long received, long overruns, long lost, double sendSeconds, double seconds) {
        return String.format("logged %d events (nft counter x %d) in %.3f s (%.0f/s offered); received %d in %.3f s = %.0f events/s; "
                + "lost %d (ENOBUFS %d)", logged, NflogLab.BURST_LOGS, sendSeconds, logged / sendSeconds, received, seconds, received / seconds,
                Math.max(lost, logged - received), overruns);
    }
}
