package dev.clawfence.bench.fanout;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * When each stream received each broadcast, as {@link System#nanoTime()} in this JVM (the sender's clock,
 * so no clock skew enters), and the latencies from each broadcast's start. Written by the event-loop
 * threads, read after {@link #await} returned.
 */
final class Deliveries {

    private final int streams;
    private final long[][] receivedAt;
    private final long[] startedAt;
    private final CountDownLatch[] complete;

    /** For {@code broadcasts} to {@code streams} streams, of which {@code live} are up (the others never count). */
    Deliveries(int broadcasts, int streams, int live) {
        this.streams = live;
        this.receivedAt = new long[broadcasts][streams];
        this.startedAt = new long[broadcasts];
        this.complete = new CountDownLatch[broadcasts];
        for (int i = 0; i < broadcasts; i++) {
            complete[i] = new CountDownLatch(live);
        }
    }

    int broadcasts() {
        return receivedAt.length;
    }

    void started(int broadcast, long nanoTime) {
        startedAt[broadcast] = nanoTime;
    }

    long startedAt(int broadcast) {
        return startedAt[broadcast];
    }

    /** Records that {@code stream} got {@code broadcast} now; a repeat is ignored. */
    void received(int broadcast, int stream) {
        long now = System.nanoTime();
        if (broadcast < 0 || broadcast >= receivedAt.length) {
            return;
        }
        synchronized (receivedAt[broadcast]) {
            if (receivedAt[broadcast][stream] != 0) {
                return;
            }
            receivedAt[broadcast][stream] = now;
        }
        complete[broadcast].countDown();
    }

    /** Waits until every stream got {@code broadcast}; false when some had not within the timeout. */
    boolean await(int broadcast, long timeout, TimeUnit unit) throws InterruptedException {
        return complete[broadcast].await(timeout, unit);
    }

    long missing(int broadcast) {
        return complete[broadcast].getCount();
    }

    /** Latencies of one broadcast in microseconds, for the streams that got it. */
    Histogram histogram(int broadcast) {
        Histogram histogram = new Histogram(3);
        synchronized (receivedAt[broadcast]) {
            for (long at : receivedAt[broadcast]) {
                if (at != 0) {
                    histogram.recordValue(Math.max(0, (at - startedAt[broadcast]) / 1000));
                }
            }
        }
        return histogram;
    }

    /** Latencies of every broadcast to every stream, in microseconds. */
    Histogram all() {
        Histogram all = new Histogram(3);
        for (int i = 0; i < receivedAt.length; i++) {
            all.add(histogram(i));
        }
        return all;
    }

    @Override
    public String toString() {
        return broadcasts() + " broadcasts to " + streams + " streams, missing " + Arrays.stream(complete)
                .mapToLong(CountDownLatch::getCount).sum();
    }
}
