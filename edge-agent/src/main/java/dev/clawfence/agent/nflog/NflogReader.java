package dev.clawfence.agent.nflog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.function.Consumer;

/**
 * The receive loop of one NFLOG group: takes datagrams from an {@link NflogSocket}, parses them and hands
 * every {@link LoggedPacket} to a listener, until {@link #stop()}. Everything that does not become an
 * event is counted in {@link #stats()}, so a loss is always visible: the kernel's ENOBUFS signals, the
 * messages missing from the group's numbering, and datagrams that did not parse. Counters are written by
 * the reading thread only and may be read from any thread.
 */
public final class NflogReader {

    /**
     * What the reader has seen so far.
     *
     * @param datagrams  datagrams received
     * @param packets    packets handed to the listener
     * @param malformed  datagrams that did not parse to the end (packets after the fault are lost)
     * @param overruns   ENOBUFS reports: the socket's receive buffer overflowed at least once each
     * @param lost       messages missing from the kernel's sequence numbers (dropped before they reached us)
     */
    public record Stats(long datagrams, long packets, long malformed, long overruns, long lost) {}

    private final NflogSocket socket;
    private final Consumer<LoggedPacket> listener;
    private final Clock clock;
    private final Consumer<NflogFormatException> malformedListener;
    private final Runnable afterReceive;
    private final NflogParser.Sink sink = new NflogParser.Sink() {
        @Override
        public void packet(LoggedPacket packet) {
            track(packet.sequence());
            // Counted here, not from parse()'s result: a datagram that breaks off has delivered its first packets.
            packets++;
            listener.accept(packet);
        }
    };
    private volatile boolean running = true;
    private volatile long datagrams;
    private volatile long packets;
    private volatile long malformed;
    private volatile long lost;
    private long nextSequence = -1;

    /**
     * @param malformedListener told about each datagram that did not parse, e.g. to log it; the reader
     *                          goes on with the next datagram either way
     */
    public NflogReader(NflogSocket socket, Clock clock, Consumer<LoggedPacket> listener, Consumer<NflogFormatException> malformedListener) {
        this(socket, clock, listener, malformedListener, () -> {});
    }

    /**
     * @param afterReceive run on the reading thread after each datagram's packets went to the listener and
     *                     after each poll interval without one: where a listener that batches flushes
     */
    public NflogReader(NflogSocket socket, Clock clock, Consumer<LoggedPacket> listener, Consumer<NflogFormatException> malformedListener,
            Runnable afterReceive) {
        this.socket = socket;
        this.clock = clock;
        this.listener = listener;
        this.malformedListener = malformedListener;
        this.afterReceive = afterReceive;
    }

    /** Receives until {@link #stop()} is called (noticed within the socket's poll interval), then closes the socket. */
    public void run() throws IOException {
        try {
            while (running) {
                ByteBuffer datagram = socket.receive();
                if (datagram == null) {
                    afterReceive.run();
                    continue;
                }
                datagrams++;
                try {
                    NflogParser.parse(datagram, clock.instant(), sink);
                } catch (NflogFormatException e) {
                    malformed++;
                    malformedListener.accept(e);
                }
                afterReceive.run();
            }
        } finally {
            socket.close();
        }
    }

    /** Asks {@link #run()} to return; safe from any thread. */
    public void stop() {
        running = false;
    }

    public Stats stats() {
        return new Stats(datagrams, packets, malformed, socket.overruns(), lost);
    }

    /** The kernel numbers a group's messages 0, 1, 2, ... (32 bits, wrapping); a jump is a drop. */
    private void track(long sequence) {
        if (sequence < 0) {
            return;
        }
        if (nextSequence >= 0) {
            long gap = (sequence - nextSequence) & 0xffffffffL;
            // A jump backwards (a huge unsigned gap) means the group was rebound, not 4 billion losses.
            if (gap < 0x80000000L) {
                lost += gap;
            }
        }
        nextSequence = (sequence + 1) & 0xffffffffL;
    }
}
