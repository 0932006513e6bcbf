package dev.clawfence.agent.config;

import dev.clawfence.policy.render.EventLogging;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code events:} section: connection events from the kernel and the counters.
 *
 * @param enabled         log attempts to NFLOG and capture them into the spool; the counters run either way
 * @param nflogGroup      the NFLOG group the ruleset logs to and the agent reads
 * @param rate            the kernel's log rate limit, events per second (shared by all log rules; iptables: per family)
 * @param burst           events the limit lets through at once above the rate
 * @param spoolDir        where events wait for upload; null: {@code <stateDir>/events}
 * @param spoolMaxBytes   the spool's size limit; when full, the oldest events are dropped and counted
 * @param counterInterval how often the per-decision counters are read and sent to the control plane
 */
public record EventsConfig(boolean enabled, int nflogGroup, int rate, int burst, Path spoolDir, long spoolMaxBytes, Duration counterInterval) {

    public static final EventsConfig DEFAULTS = new EventsConfig(true, EventLogging.DEFAULT.group(), EventLogging.DEFAULT.ratePerSecond(),
            EventLogging.DEFAULT.burst(), null, 256L << 20, Duration.ofSeconds(10));

    /** How the ruleset logs. */
    public EventLogging logging() {
        return new EventLogging(enabled, nflogGroup, rate, burst);
    }

    /** The spool directory in force: {@link #spoolDir()} or {@code <stateDir>/events}. */
    public Path spoolDir(Path stateDir) {
        return spoolDir != null ? spoolDir : stateDir.resolve("events");
    }
}
