package dev.clawfence.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real crash: a child JVM appends and syncs in a loop and is killed with SIGKILL at a random
 * moment, five times over the same spool. After each kill the spool must hold every record the
 * child reported as synced, exactly once, in order, and no record twice across all runs.
 */
class SpoolCrashTest {

    @TempDir
    Path dir;

    @Test
    void everySyncedRecordSurvivesKillDashNine() throws Exception {
        long seed = Long.getLong("spool.crash.seed", System.nanoTime());
        System.out.println("SpoolCrashTest seed " + seed + " (replay: -Dspool.crash.seed=" + seed + ")");
        Random random = new Random(seed);
        Path spoolDir = dir.resolve("spool");
        Set<String> seenEver = new HashSet<>();
        long lastSeq = 0;
        for (int run = 1; run <= 5; run++) {
            long killAfter = 500L * (1 + random.nextInt(40));
            AtomicLong synced = new AtomicLong();
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), SpoolCrashChild.class.getName(), spoolDir.toString(), "run" + run)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            try {
                Thread reader = Thread.ofVirtual().start(() -> {
                    try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                            if (line.startsWith("synced ")) {
                                synced.set(Long.parseLong(line.substring(7)));
                            }
                        }
                    } catch (IOException e) {
                        // the child was killed mid-line
                    }
                });
                await().atMost(Duration.ofSeconds(120)).until(() -> synced.get() >= killAfter || !child.isAlive());
                assertThat(child.isAlive()).as("the child is still appending when it is killed").isTrue();
                child.destroyForcibly(); // SIGKILL on Linux
                child.waitFor();
                reader.join();
            } finally {
                child.destroyForcibly();
            }
            long durable = synced.get();

            try (Spool spool = Spool.open(spoolDir, SpoolLimits.defaults(), Clock.systemUTC())) {
                Map<Long, Long> runRecords = new HashMap<>();
                long after = 0;
                while (true) {
                    Spool.Batch batch = spool.read(after, 10_000, 4 << 20);
                    if (batch.records().isEmpty()) {
                        break;
                    }
                    for (Spool.Record record : batch.records()) {
                        assertThat(record.seq()).isGreaterThan(Math.max(after, lastSeq));
                        String text = new String(record.payload(), StandardCharsets.US_ASCII);
                        String[] parts = text.split(" ");
                        assertThat(seenEver.add(parts[0] + " " + parts[1])).as("record %s read once only", text).isTrue();
                        assertThat(parts[0]).isEqualTo("run" + run);
                        runRecords.put(Long.parseLong(parts[1]), record.seq());
                        after = record.seq();
                    }
                }
                for (long n = 1; n <= durable; n++) {
                    assertThat(runRecords).as("run %d: record %d was synced", run, n).containsKey(n);
                }
                System.out.println("SpoolCrashTest run " + run + ": killed after " + durable + " synced, " + runRecords.size()
                        + " records found, losses " + spool.losses() + ", notes " + spool.recoveryNotes());
                lastSeq = spool.stats().lastSeq();
                if (after > 0) {
                    spool.ack(after);
                }
            }
        }
    }
}
