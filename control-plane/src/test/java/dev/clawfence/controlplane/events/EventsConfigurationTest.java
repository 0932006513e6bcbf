package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The event settings refuse to start the service with a default no tenant could choose, or a rollup interval out of range. */
class EventsConfigurationTest {

    @Test
    void defaultsAreThirtyWithinThreeHundredSixtyFive() {
        EventsConfiguration config = new EventsConfiguration(null, null, null, null, null, null);
        assertThat(config.retentionDaysOrDefault()).isEqualTo(30);
        assertThat(config.maxRetentionDaysOrDefault()).isEqualTo(365);
        assertThat(config.rollupIntervalOrDefault()).isEqualTo(Duration.ofSeconds(2));
    }

    @ParameterizedTest
    @CsvSource({"PT-1S, PT-1S", "PT61S, PT1M1S"})
    void refusesARollupIntervalOutsideZeroToAMinute(Duration interval, String shown) {
        assertThatThrownBy(() -> new EventsConfiguration(null, null, null, null, null, interval))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("clawfence.events.rollup-interval: " + shown + " must be between 0 and 1 minute");
    }

    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {
        "400, -,  clawfence.events.retention-days: 400 is above clawfence.events.max-retention-days (365)",
        "-,   20, clawfence.events.retention-days: 30 is above clawfence.events.max-retention-days (20)",
        "8,   7,  clawfence.events.retention-days: 8 is above clawfence.events.max-retention-days (7)",
        "-,   0,  clawfence.events.max-retention-days: 0 must be at least 1",
        "0,   -,  clawfence.events.retention-days: 0 must be at least 1"})
    void refusesADefaultOutsideTheBounds(Integer retentionDays, Integer maxRetentionDays, String message) {
        assertThatThrownBy(() -> new EventsConfiguration(retentionDays, maxRetentionDays, null, null, null, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(message);
    }

    @Test
    void aDefaultAtTheMaximumIsFine() {
        assertThat(new EventsConfiguration(90, 90, null, null, null, null).retentionDaysOrDefault()).isEqualTo(90);
    }
}
