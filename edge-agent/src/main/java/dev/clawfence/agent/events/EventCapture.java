package dev.clawfence.agent.events;

import dev.clawfence.agent.nflog.NflogFormatException;
import dev.clawfence.agent.nflog.NflogReader;
import dev.clawfence.agent.nflog.NflogSocket;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The capture path on its own thread: NFLOG datagrams ({@link NflogReader}) → {@link ConnectionEvents}
 * → serialized {@link ConnectionEvent}s appended to the {@link Spool}, one {@link Spool#appendAll} per
 * datagram (the kernel batches messages, the spool fsyncs in groups), and a {@link Spool#sync()} when
 * the group goes quiet. Nothing stops it but {@link #close()}: a datagram that does not parse, a
 * prefix that does not decode, a spool write that fails is counted (see {@link Stats}), logged at most
 * once per {@link #REPORT_EVERY} with the totals, and the next datagram is read.
 */
public final class EventCapture implements AutoCloseable {

    /**
     * What the capture has seen.
     *
     * @param reader      the reader's counts: datagrams, packets, malformed datagrams, socket overruns (ENOBUFS)
     *                    and messages missing from the kernel's numbering (lost before they reached the agent)
     * @param spooled     events appended to the spool
     * @param foreign     logged packets that were not Clawfence's (another rule logs to the same group)
     * @param undecodable logged packets with a Clawfence prefix that did not make an event
     * @param unspooled   events lost because the spool refused them (I/O error)
     */
    public record Stats(NflogReader.Stats reader, long spooled, long foreign, long undecodable, long unspooled) {}

    /** Problems are logged at most this often, with totals. */
    static final Duration REPORT_EVERY = Duration.ofSeconds(60);

    private final Spool spool;
    private final IntFunction<String> interfaces;
    private final Clock clock;
    private final Consumer<String> log;
    private final NflogReader reader;
    private final Thread thread;
    private final List<byte[]> batch = new ArrayList<>();
    private final ConnectionEvents events = new ConnectionEvents();
    private volatile long spooled;
    private volatile long foreign;
    private volatile long undecodable;
    private volatile long unspooled;
    private boolean unsynced;
    private String lastProblem;
    private Instant lastReport = Instant.MIN;
    private long reportedTroubles;

    private EventCapture(NflogSocket socket, Spool spool, IntFunction<String> interfaces, Clock clock, Consumer<String> log) {
        this.spool = spool;
        this.interfaces = interfaces;
        this.clock = clock;
        this.log = log;
        this.reader = new NflogReader(socket, clock, packet -> {
            try {
                Optional<ConnectionEvent> event = events.event(packet, interfaces);
                if (event.isPresent()) {
                    batch.add(event.get().toByteArray());
                } else {
                    foreign++;
                }
            } catch (ConnectionEvents.NotAnEvent e) {
                undecodable++;
                lastProblem = e.getMessage();
            }
        }, this::malformed, this::afterReceive);
        this.thread = Thread.ofPlatform().daemon().name("nflog-capture").unstarted(this::run);
    }

    /** Starts capturing from {@code socket} (which the capture closes) into {@code spool}. */
    public static EventCapture start(NflogSocket socket, Spool spool, IntFunction<String> interfaces, Clock clock, Consumer<String> log) {
        EventCapture capture = new EventCapture(socket, spool, interfaces, clock, log);
        capture.thread.start();
        return capture;
    }

    /**
     * Opens NFLOG group {@code options.group()} in the agent's namespace and starts capturing, or says once
     * why it cannot (not root, no nfnetlink_log) and returns empty: the agent then runs without events and
     * enforcement is unaffected.
     */
    public static Optional<EventCapture> open(NflogSocket.Options options, Spool spool, Clock clock, Consumer<String> log) {
        NflogSocket socket;
        try {
            socket = NflogSocket.open(options);
        } catch (IOException | RuntimeException | LinkageError e) {
            log.accept("warning: connection events are off: cannot open NFLOG group " + options.group() + " (" + e.getMessage()
                    + "; the agent needs CAP_NET_ADMIN and the nfnetlink_log module); enforcing and syncing go on without events");
            return Optional.empty();
        }
        log.accept("capturing connection events from NFLOG group " + options.group() + " (receive buffer " + socket.receiveBuffer() + " bytes)");
        return Optional.of(start(socket, spool, InterfaceNames.local(clock), clock, log));
    }

    /** What was lost so far, as the control plane hears of it (RuleCounters.events_lost_at_capture, capture_overruns). */
    public CounterReporter.CaptureLosses losses() {
        Stats stats = stats();
        return new CounterReporter.CaptureLosses(
                stats.reader().lost() + stats.reader().malformed() + stats.undecodable() + stats.unspooled(),
                stats.reader().overruns());
    }

    public Stats stats() {
        return new Stats(reader.stats(), spooled, foreign, undecodable, unspooled);
    }

    private void run() {
        try {
            reader.run();
        } catch (IOException | RuntimeException e) {
            log.accept("error: connection event capture stopped: " + e.getMessage() + "; enforcing goes on without events");
        } finally {
            flush();
            syncQuietly();
        }
    }

    private void malformed(NflogFormatException e) {
        lastProblem = "malformed datagram: " + e.getMessage();
    }

    private void afterReceive() {
        if (!batch.isEmpty()) {
            flush();
        } else if (unsynced) {
            syncQuietly();
        }
        report();
    }

    private void flush() {
        if (batch.isEmpty()) {
            return;
        }
        try {
            spool.appendAll(batch);
            spooled += batch.size();
            unsynced = true;
        } catch (IOException | RuntimeException e) {
            unspooled += batch.size();
            lastProblem = "spool: " + e.getMessage();
        }
        batch.clear();
    }

    private void syncQuietly() {
        try {
            spool.sync();
            unsynced = false;
        } catch (IOException | RuntimeException e) {
            lastProblem = "spool sync: " + e.getMessage();
        }
    }

    /** Logs the totals when anything was lost or refused since the last report, at most once per {@link #REPORT_EVERY}. */
    private void report() {
        Stats stats = stats();
        long troubles = stats.reader().overruns() + stats.reader().lost() + stats.reader().malformed() + stats.undecodable() + stats.unspooled();
        Instant now = clock.instant();
        if (troubles == reportedTroubles || Duration.between(lastReport, now).compareTo(REPORT_EVERY) < 0) {
            return;
        }
        reportedTroubles = troubles;
        lastReport = now;
        log.accept("warning: connection events: " + stats.spooled() + " spooled; lost on the way: " + stats.reader().overruns()
                + " socket overruns (ENOBUFS), " + stats.reader().lost() + " messages missing from the kernel's numbering, "
                + stats.reader().malformed() + " malformed datagrams, " + stats.undecodable() + " undecodable, " + stats.unspooled()
                + " refused by the spool" + (lastProblem == null ? "" : "; last problem: " + lastProblem));
    }

    /** Stops the reader (within its poll interval), spools what it holds and waits for the thread. */
    @Override
    public void close() throws InterruptedException {
        reader.stop();
        thread.join(Duration.ofSeconds(5));
    }
}
