package dev.clawfence.agent.sync;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Waits between attempts to reach the control plane: {@code initial}, doubling up to {@code max}, each
 * wait lengthened by a random fraction of up to a quarter so that agents cut off together do not all
 * come back in the same instant. An attempt that lasted at least {@code healthy} (a stream that ran
 * for a while before it broke) starts the doubling over.
 */
public final class Backoff {

    private final Duration initial;
    private final Duration max;
    private final Duration healthy;
    private final RandomGenerator random;
    private long nextMillis;

    public Backoff(Duration initial, Duration max, Duration healthy, RandomGenerator random) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff: initial " + initial + " must be positive and at most max " + max);
        }
        this.initial = initial;
        this.max = max;
        this.healthy = healthy;
        this.random = random;
        this.nextMillis = initial.toMillis();
    }

    /** How long to wait after an attempt that lasted {@code attempt}; the next wait doubles. */
    public Duration next(Duration attempt) {
        if (attempt.compareTo(healthy) >= 0) {
            nextMillis = initial.toMillis();
        }
        long base = nextMillis;
        nextMillis = Math.min(nextMillis * 2, max.toMillis());
        return Duration.ofMillis(base + random.nextLong(base / 4 + 1));
    }

    /** Sleeps {@link #next(Duration)}. */
    public void pause(Duration attempt) throws InterruptedException {
        Thread.sleep(next(attempt));
    }
}
