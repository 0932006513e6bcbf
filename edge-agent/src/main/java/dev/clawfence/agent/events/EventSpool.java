package dev.clawfence.agent.events;

import dev.clawfence.agent.spool.Spool;
import dev.clawfence.agent.spool.SpoolLimits;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The agent's event spool, or none: a spool that cannot be opened (disk full, permissions) costs the
 * host its events, never its enforcement, so the agent logs one warning and runs without events.
 */
public final class EventSpool implements AutoCloseable {

    private final Spool spool;
    private final Consumer<String> log;

    private EventSpool(Spool spool, Consumer<String> log) {
        this.spool = spool;
        this.log = log;
    }

    /** Opens (and recovers) the spool in {@code dir}, logging what recovery found. */
    public static EventSpool open(Path dir, Consumer<String> log) {
        try {
            Spool spool = Spool.open(dir, SpoolLimits.defaults(), Clock.systemUTC());
            spool.recoveryNotes().forEach(note -> log.accept("event spool: " + note));
            return new EventSpool(spool, log);
        } catch (IOException | RuntimeException e) {
            log.accept("warning: the event spool in " + dir + " cannot be opened (" + e.getMessage()
                    + "); running without connection events");
            return new EventSpool(null, log);
        }
    }

    public Optional<Spool> spool() {
        return Optional.ofNullable(spool);
    }

    /** Syncs and closes the spool, so that numbering continues without a gap at the next start. */
    @Override
    public void close() {
        if (spool == null) {
            return;
        }
        try {
            spool.close();
        } catch (IOException | RuntimeException e) {
            log.accept("warning: the event spool did not close cleanly (" + e.getMessage() + "); the next start recovers it");
        }
    }
}
