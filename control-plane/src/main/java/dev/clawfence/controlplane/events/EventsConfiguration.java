package dev.clawfence.controlplane.events;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.time.Duration;

/**
 * Connection event storage settings ({@code clawfence.events.*}). Retention is one figure for every
 * tenant for now; issue 4 wants it per tenant, which will need partitions per retention class or
 * row deletes for tenants below the longest one.
 *
 * @param retentionDays days of events kept before their partition is dropped (default 30)
 * @param daysAhead partitions created ahead of today (default 3)
 * @param futureTolerance how far ahead of the control plane's clock an event time may lie before it
 *     is replaced by the receive time (default 1 hour; must stay below {@code daysAhead})
 * @param maintenanceInterval how often partitions are created and dropped (default 1 hour)
 */
@ConfigurationProperties("clawfence.events")
public record EventsConfiguration(
        @Nullable Integer retentionDays,
        @Nullable Integer daysAhead,
        @Nullable Duration futureTolerance,
        @Nullable Duration maintenanceInterval) {

    public EventsConfiguration {
        if (retentionDays != null && retentionDays < 1) {
            throw new IllegalArgumentException("clawfence.events.retention-days: " + retentionDays + " must be at least 1");
        }
        if (daysAhead != null && daysAhead < 1) {
            throw new IllegalArgumentException("clawfence.events.days-ahead: " + daysAhead + " must be at least 1");
        }
        if (futureTolerance != null && (futureTolerance.isNegative()
                || futureTolerance.compareTo(Duration.ofDays(daysAhead == null ? 3 : daysAhead)) >= 0)) {
            throw new IllegalArgumentException("clawfence.events.future-tolerance: " + futureTolerance
                    + " must be between 0 and the days-ahead partitions");
        }
    }

    public int retentionDaysOrDefault() {
        return retentionDays == null ? 30 : retentionDays;
    }

    public int daysAheadOrDefault() {
        return daysAhead == null ? 3 : daysAhead;
    }

    public Duration futureToleranceOrDefault() {
        return futureTolerance == null ? Duration.ofHours(1) : futureTolerance;
    }

    public Duration maintenanceIntervalOrDefault() {
        return maintenanceInterval == null ? Duration.ofHours(1) : maintenanceInterval;
    }
}
