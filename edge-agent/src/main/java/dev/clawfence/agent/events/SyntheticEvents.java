package dev.clawfence.agent.events;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.Verdict;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A test source of connection events (the hidden {@code --dev-synthetic-events} option): appends
 * events to the spool, as the NFLOG capture does, until the spool has issued {@code total} sequence
 * numbers, at about {@code perSecond}. Its progress is the spool's own last sequence number, which the
 * spool recovers after a kill, so a run cut short by any number of restarts still appends exactly
 * {@code total} events in all (as long as nothing else appends to the same spool: run it with the
 * dry-run backend, which logs nothing). Each event is appended on its own, so a kill never leaves half a
 * batch of records behind.
 *
 * <p>Event {@code n} (its sequence number) is an inbound TCP attempt from
 * {@code 198.51.100.(n mod 250 + 1)}, source port {@code 1024 + n mod 60000}, to {@code 192.0.2.1}
 * port 443, blocked as not-allowlisted, on interface {@code synthetic0}, timed when it is appended.
 */
public final class SyntheticEvents implements Runnable {

    /** The interface name synthetic events carry, so they are never mistaken for captured ones. */
    public static final String INTERFACE = "synthetic0";

    private static final ByteString DESTINATION = ByteString.copyFrom(new byte[] {(byte) 192, 0, 2, 1});

    private final Spool spool;
    private final long total;
    private final int perSecond;
    private final Clock clock;
    private final Consumer<String> log;

    public SyntheticEvents(Spool spool, long total, int perSecond, Clock clock, Consumer<String> log) {
        if (total < 1) {
            throw new IllegalArgumentException("--dev-synthetic-events: " + total + " must be at least 1");
        }
        if (perSecond < 1) {
            throw new IllegalArgumentException("--dev-synthetic-rate: " + perSecond + " must be at least 1 event per second");
        }
        this.spool = spool;
        this.total = total;
        this.perSecond = perSecond;
        this.clock = clock;
        this.log = log;
    }

    @Override
    public void run() {
        long done = spool.stats().lastSeq();
        if (done >= total) {
            log.accept("synthetic events: all " + total + " generated already (the spool has issued " + done + ")");
            return;
        }
        log.accept("synthetic events: generating " + (done + 1) + ".." + total + " at " + perSecond + " per second");
        long start = System.nanoTime();
        long startedAt = done;
        try {
            for (long next = done + 1; next <= total; next++) {
                long seq = spool.append(event(next).toByteArray());
                if (seq != next) {
                    log.accept("error: synthetic events: the spool numbered event " + next + " as " + seq
                            + " (something else appends to it, or it lost its tail); stopping");
                    return;
                }
                long due = start + (next - startedAt) * TimeUnit.SECONDS.toNanos(1) / perSecond;
                long ahead = due - System.nanoTime();
                if (ahead > 0) {
                    LockSupport.parkNanos(ahead);
                }
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
            }
            spool.sync();
            log.accept("synthetic events: all " + total + " generated");
        } catch (IOException | RuntimeException e) {
            log.accept("error: synthetic events: " + e.getMessage() + "; stopping");
        }
    }

    private ConnectionEvent event(long n) {
        long micros = TimeUnit.MILLISECONDS.toMicros(clock.millis());
        return ConnectionEvent.newBuilder()
                .setTimeEpochMicros(micros)
                .setDirection(Direction.DIRECTION_INBOUND)
                .setIpProtocol(6)
                .setSourceAddress(ByteString.copyFrom(new byte[] {(byte) 198, 51, 100, (byte) (n % 250 + 1)}))
                .setDestinationAddress(DESTINATION)
                .setSourcePort((int) (1024 + n % 60_000))
                .setDestinationPort(443)
                .setVerdict(Verdict.VERDICT_BLOCKED)
                .setReason("not-allowlisted")
                .setInterface(INTERFACE)
                .build();
    }
}
