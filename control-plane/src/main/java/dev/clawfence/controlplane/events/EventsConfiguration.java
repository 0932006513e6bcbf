package dev.clawfence.controlplane.events;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.time.Duration;

/**
 * Connection event storage settings ({@code clawfence.events.*}). A tenant may set its own retention
 * ({@link EventRetention}); {@code retentionDays} is the figure of every tenant that has not.
 *
 * @param retentionDays the platform default: days of events kept for a tenant without its own figure
 *     (default 30; must lie within {@code 1..maxRetentionDays})
 * @param maxRetentionDays the most days a tenant may choose (default 365)
 * @param daysAhead partitions created ahead of today (default 3)
 * @param futureTolerance how far ahead of the control plane's clock an event time may lie before it
 *     is replaced by the receive time (default 1 hour; must stay below {@code daysAhead})
 * @param maintenanceInterval how often partitions are created and dropped (default 1 hour)
 * @param rollupInterval how long a replica may hold an instance's rollups in memory before writing them
 *     (default 2 seconds; 0 writes them in every batch's transaction): the charts and flags lag the events
 *     by up to this much, and in return many batches share one row per key ({@link PendingRollups})
 */
@ConfigurationProperties("clawfence.events")
public record EventsConfiguration(
        @Nullable Integer retentionDays,
        @Nullable Integer maxRetentionDays,
        @Nullable Integer daysAhead,
        @Nullable Duration futureTolerance,
        @Nullable Duration maintenanceInterval,
        @Nullable Duration rollupInterval) {

    public EventsConfiguration {
        if (retentionDays != null && retentionDays < 1) {
            throw new IllegalArgumentException("clawfence.events.retention-days: " + retentionDays + " must be at least 1");
        }
        if (maxRetentionDays != null && maxRetentionDays < 1) {
            throw new IllegalArgumentException("clawfence.events.max-retention-days: " + maxRetentionDays
                    + " must be at least 1");
        }
        int max = maxRetentionDays == null ? 365 : maxRetentionDays;
        if ((retentionDays == null ? 30 : retentionDays) > max) {
            throw new IllegalArgumentException("clawfence.events.retention-days: " + (retentionDays == null ? 30 : retentionDays)
                    + " is above clawfence.events.max-retention-days (" + max + "); the default must be a figure a tenant"
                    + " could choose: lower retention-days or raise max-retention-days");
        }
        if (daysAhead != null && daysAhead < 1) {
            throw new IllegalArgumentException("clawfence.events.days-ahead: " + daysAhead + " must be at least 1");
        }
        if (futureTolerance != null && (futureTolerance.isNegative()
                || futureTolerance.compareTo(Duration.ofDays(daysAhead == null ? 3 : daysAhead)) >= 0)) {
            throw new IllegalArgumentException("clawfence.events.future-tolerance: " + futureTolerance
                    + " must be between 0 and the days-ahead partitions");
        }
        if (rollupInterval != null && (rollupInterval.isNegative() || rollupInterval.compareTo(Duration.ofMinutes(1)) > 0)) {
            throw new IllegalArgumentException("clawfence.events.rollup-interval: " + rollupInterval
                    + " must be between 0 and 1 minute");
        }
    }

    public int retentionDaysOrDefault() {
        return retentionDays == null ? 30 : retentionDays;
    }

    public int maxRetentionDaysOrDefault() {
        return maxRetentionDays == null ? 365 : maxRetentionDays;
    }

    public int daysAheadOrDefault() {
        return daysAhead == null ? 3 : daysAhead;
    }

    public Duration futureToleranceOrDefault() {
        return futureTolerance == null ? Duration.ofHours(1) : futureTolerance;
    }

    public Duration rollupIntervalOrDefault() {
        return rollupInterval == null ? Duration.ofSeconds(2) : rollupInterval;
    }

    public Duration maintenanceIntervalOrDefault() {
        return maintenanceInterval == null ? Duration.ofHours(1) : maintenanceInterval;
    }
}
