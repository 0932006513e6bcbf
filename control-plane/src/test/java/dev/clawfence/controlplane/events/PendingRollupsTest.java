package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** When held rollups are written, and what a transaction that was not committed leaves behind. */
class PendingRollupsTest {

    private final AtomicLong nanos = new AtomicLong();
    private final UUID tenant = UUID.randomUUID();
    private final UUID instance = UUID.randomUUID();

    @Test
    void heldRollupsAreWrittenOnceTheIntervalIsUp() {
        PendingRollups pending = new PendingRollups(Duration.ofSeconds(2), nanos::get);
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            assertThat(held.begin(0, 0)).as("nothing held yet").isFalse();
            held.rollups().add(Events.event(1, java.time.Instant.now()).build(), 1);
            assertThat(held.writeNow()).isFalse();
            held.stage(1, false);
            held.committed();
        }
        assertThat(pending.size()).isOne();
        assertThat(pending.takeDue(false)).isEmpty();
        nanos.addAndGet(Duration.ofSeconds(2).toNanos());
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            assertThat(held.begin(1, 0)).as("continues the mark row").isTrue();
            assertThat(held.writeNow()).isTrue();
        }
    }

    @Test
    void aZeroIntervalWritesInEveryBatch() {
        PendingRollups pending = new PendingRollups(Duration.ZERO, nanos::get);
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            held.begin(0, 0);
            assertThat(held.writeNow()).as("nothing to write").isFalse();
            held.rollups().add(Events.event(1, java.time.Instant.now()).build(), 1);
            assertThat(held.writeNow()).isTrue();
        }
    }

    @Test
    void aTransactionThatWasNotCommittedLeavesNothingHeld() {
        PendingRollups pending = new PendingRollups(Duration.ofSeconds(2), nanos::get);
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            held.begin(0, 0);
            held.rollups().add(Events.event(1, java.time.Instant.now()).build(), 1);
            held.stage(1, false);
        }
        assertThat(pending.size()).isZero();
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            assertThat(held.begin(0, 0)).isFalse();
            assertThat(held.needsStoredEvents()).isFalse();
        }
    }

    @Test
    void whatTheMarkRowShowsMissingMustBeReadBack() {
        PendingRollups pending = new PendingRollups(Duration.ofSeconds(2), nanos::get);
        try (PendingRollups.Pending held = pending.open(tenant, instance)) {
            assertThat(held.begin(500, 200)).isFalse();
            assertThat(held.needsStoredEvents()).as("sequences 201..500 were another replica's").isTrue();
        }
    }

    @Test
    void refusesANegativeInterval() {
        assertThatThrownBy(() -> new PendingRollups(Duration.ofSeconds(-1)))
                .hasMessage("clawfence.events.rollup-interval: PT-1S must not be negative");
    }
}
