package dev.clawfence.agent.spool;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * The process {@link SpoolCrashTest} kills: appends numbered records to the spool in {@code args[0]}
 * as fast as it can, syncs every 500, and after each sync prints {@code synced <n>} (the last record
 * number now durable) on stdout. Runs until killed.
 */
public final class SpoolCrashChild {

    private SpoolCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String run = args[1];
        SpoolLimits limits = SpoolLimits.defaults().withSync(Integer.MAX_VALUE, Duration.ofDays(1));
        Spool spool = Spool.open(dir, limits, Clock.systemUTC());
        String padding = "p".repeat(100);
        for (long n = 1; ; n++) {
            spool.append((run + " " + n + " " + padding).getBytes(StandardCharsets.US_ASCII));
            if (n % 500 == 0) {
                spool.sync();
                System.out.println("synced " + n);
                System.out.flush();
            }
        }
    }
}
