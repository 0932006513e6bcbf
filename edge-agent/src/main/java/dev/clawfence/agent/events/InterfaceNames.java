package dev.clawfence.agent.events;

import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Interface names by index for events, cached: a lookup lists the host's interfaces, far too slow per
 * event. The cache is forgotten every {@link #TTL} so a renamed or replaced interface shows its new
 * name within that time. Used by the capture thread only (not thread-safe).
 */
public final class InterfaceNames implements IntFunction<String> {

    static final Duration TTL = Duration.ofSeconds(60);

    private final IntFunction<String> lookup;
    private final Clock clock;
    private final Map<Integer, String> names = new HashMap<>();
    private Instant filled = Instant.EPOCH;
    private long calls;

    /** @param lookup the uncached name of an index, "" when there is none */
    public InterfaceNames(IntFunction<String> lookup, Clock clock) {
        this.lookup = lookup;
        this.clock = clock;
    }

    /** Names of the JVM's own network namespace. */
    public static InterfaceNames local(Clock clock) {
        return new InterfaceNames(InterfaceNames::lookUp, clock);
    }

    static String lookUp(int index) {
        try {
            NetworkInterface found = NetworkInterface.getByIndex(index);
            return found == null ? "" : found.getName();
        } catch (SocketException e) {
            return "";
        }
    }

    @Override
    public String apply(int index) {
        // The clock is asked once per 1,024 calls: per event it cost more than the lookup itself.
        if ((calls++ & 1023) == 0) {
            Instant now = clock.instant();
            if (now.isAfter(filled.plus(TTL)) || now.isBefore(filled)) {
                names.clear();
                filled = now;
            }
        }
        return names.computeIfAbsent(index, lookup::apply);
    }
}
