package dev.clawfence.agent.events;

import dev.clawfence.agent.Agent;
import dev.clawfence.agent.Applied;
import dev.clawfence.agent.config.AgentConfig;
import dev.clawfence.agent.config.EventsConfig;
import dev.clawfence.agent.enforce.CountingEnforcer;
import dev.clawfence.agent.nflog.NflogSocket;
import dev.clawfence.agent.spool.Spool;
import dev.clawfence.agent.spool.SpoolLimits;
import dev.clawfence.proto.agent.v1.AgentMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The agent's event side, started after the stored policy is in force: the counter reports (always)
 * and, with {@code events.enabled}, the spool and the NFLOG capture into it. A part that cannot start
 * says why once and is left out; enforcing and syncing never depend on it.
 */
public final class Events implements AutoCloseable {

    private final CounterReporter counters;
    private final Spool spool;
    private final EventCapture capture;

    private Events(CounterReporter counters, Spool spool, EventCapture capture) {
        this.counters = counters;
        this.spool = spool;
        this.capture = capture;
    }

    /** @param send puts a message on the Sync stream; false when none is open */
    public static Events start(AgentConfig config, CountingEnforcer enforcer, Agent agent, Predicate<AgentMessage> send, Consumer<String> log) {
        Clock clock = Clock.systemUTC();
        EventsConfig events = config.events();
        // The capture starts after the counters (it needs the spool); the reporter reads its losses once it runs.
        AtomicReference<EventCapture> running = new AtomicReference<>();
        CounterReporter counters = new CounterReporter(enforcer, send, () -> agent.current().map(Applied::version).orElse(0L),
                () -> running.get() == null ? CounterReporter.CaptureLosses.NONE : running.get().losses(), clock);
        counters.start(agent.timers(), events.counterInterval());
        if (!events.enabled()) {
            log.accept("connection events are off (events.enabled: false); the rule counters are still reported");
            return new Events(counters, null, null);
        }
        Path dir = events.spoolDir(config.stateDir());
        Spool spool;
        try {
            spool = Spool.open(dir, SpoolLimits.defaults().withMaxBytes(events.spoolMaxBytes()), clock);
        } catch (IOException | RuntimeException e) {
            log.accept("warning: connection events are off: cannot open the spool in " + dir + " (" + e.getMessage() + ")");
            return new Events(counters, null, null);
        }
        spool.recoveryNotes().forEach(note -> log.accept("event spool: " + note));
        EventCapture capture = EventCapture.open(NflogSocket.Options.forGroup(events.nflogGroup()), spool, clock, log).orElse(null);
        running.set(capture);
        return new Events(counters, spool, capture);
    }

    /** The spool events wait in for upload, when events are on. */
    public Optional<Spool> spool() {
        return Optional.ofNullable(spool);
    }

    /** The capture's counts, when it runs. */
    public Optional<EventCapture.Stats> captureStats() {
        return capture == null ? Optional.empty() : Optional.of(capture.stats());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        counters.close();
        if (capture != null) {
            capture.close();
        }
        if (spool != null) {
            spool.close();
        }
    }
}
