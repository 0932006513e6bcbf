package dev.clawfence.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One appending thread and one uploading thread (read, then ack what was read) at the same time, as
 * the agent runs them: every record is read exactly once, in order, with its payload, or is inside a
 * reported loss when the spool is too small to hold the backlog.
 */
class SpoolConcurrencyTest {

    private static final int RECORDS = 30_000;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "maxBytes {0}")
    @ValueSource(longs = {64L << 20, 64L << 10})
    void anAppenderAndAnUploaderShareTheSpool(long maxBytes) throws Exception {
        SpoolLimits limits = new SpoolLimits(maxBytes, (int) Math.min(256 << 10, maxBytes / 4), 500, Duration.ofMillis(20), 16_384);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (Spool spool = Spool.open(dir, limits, Clock.systemUTC())) {
            AtomicBoolean done = new AtomicBoolean();
            AtomicLong appended = new AtomicLong();
            // With the small spool the uploader starts only once the appender has written several times
            // what the spool holds, so dropping the oldest is certain rather than up to the scheduler.
            long startReadingAt = maxBytes < 1 << 20 ? 4 * maxBytes / 120 : 0;
            Future<Long> appender = threads.submit(() -> {
                long last = 0;
                for (int i = 1; i <= RECORDS; i++) {
                    last = spool.append(ByteBuffer.allocate(120).putLong(0, i).array());
                    if (last != i) {
                        throw new AssertionError("record " + i + " got sequence " + last);
                    }
                    appended.set(i);
                }
                spool.sync();
                done.set(true);
                return last;
            });
            Future<List<Long>> uploader = threads.submit(() -> {
                List<Long> seen = new ArrayList<>();
                long after = 0;
                while (appended.get() < startReadingAt) {
                    Thread.onSpinWait();
                }
                while (true) {
                    boolean finished = done.get();
                    Spool.Batch batch = spool.read(after, 700, 1 << 20);
                    for (Spool.Record record : batch.records()) {
                        if (record.seq() <= after || ByteBuffer.wrap(record.payload()).getLong(0) != record.seq()) {
                            throw new AssertionError("record " + record.seq() + " after " + after + " is out of order or not its own");
                        }
                        seen.add(record.seq());
                        after = record.seq();
                    }
                    if (!batch.records().isEmpty()) {
                        spool.ack(after);
                    } else if (finished) {
                        return seen;
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            assertThat(appender.get(60, TimeUnit.SECONDS)).isEqualTo(RECORDS);
            List<Long> seen = uploader.get(60, TimeUnit.SECONDS);

            assertThat(seen).doesNotHaveDuplicates().isSorted();
            long dropped = spool.stats().totalDropped();
            // A segment dropped between a read and its ack counts records the uploader also saw: the
            // spool cannot know the upload will succeed, so it reports them rather than risk silence.
            assertThat((long) RECORDS - seen.size()).as("every record not read was counted as dropped").isLessThanOrEqualTo(dropped);
            if (maxBytes == 64L << 20) {
                assertThat(dropped).isZero();
                assertThat(seen).hasSize(RECORDS);
            } else {
                assertThat(dropped).as("the small spool had to drop").isPositive();
            }
            assertThat(spool.stats().recordsPending()).isZero();
        } finally {
            threads.shutdownNow();
        }
    }
}
