package dev.clawfence.controlplane.events;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The rollups of stored batches that this replica has not written yet, one {@link Pending} per instance.
 * Writing them every {@code interval} instead of in every batch's transaction merges the keys that many
 * batches share (an hour's sources, a day's rules) into one row each: in the ingest benchmark a batch of
 * 5,000 events had ~1,600 distinct keys (0.32 rows per event), two seconds of an instance's batches
 * together ~0.06 rows per event (BENCHMARKS.md "Event ingest, fifth round").
 *
 * <p>Exactly once: a {@code Pending} holds the rollups of the stored sequences {@code (base, upTo]} of
 * its instance, and the rows are written only in a transaction that holds the instance's mark row, finds
 * {@code rolled_up_through = base} and {@code stored_through = upTo} there, and moves
 * {@code rolled_up_through} to {@code upTo} ({@link EventStore}). Anything else (a batch stored by another
 * replica, a failed transaction, a sweep that got there first) makes the holder drop what it has; the
 * events themselves are stored, so whoever comes next adds them up again from the table.
 */
public final class PendingRollups {

    /** Keys one instance may hold before its rollups are written whatever their age (bounds the memory). */
    static final int MAX_KEYS = 50_000;

    private final Duration interval;
    private final LongSupplier nanoTime;
    private final Map<UUID, Pending> byInstance = new ConcurrentHashMap<>();

    /** @param interval how long rollups may wait in memory; zero writes them in every batch's transaction */
    public PendingRollups(Duration interval) {
        this(interval, System::nanoTime);
    }

    PendingRollups(Duration interval, LongSupplier nanoTime) {
        if (interval.isNegative()) {
            throw new IllegalArgumentException("clawfence.events.rollup-interval: " + interval + " must not be negative");
        }
        this.interval = interval;
        this.nanoTime = nanoTime;
    }

    /**
     * The pending rollups of {@code instance}, locked for the caller until {@link Pending#close}; batches of
     * one instance on this replica take turns here, as they do on its mark row.
     */
    public Pending open(UUID tenant, UUID instance) {
        while (true) {
            Pending pending = byInstance.computeIfAbsent(instance, id -> new Pending(tenant, id));
            pending.lock.lock();
            if (!pending.retired) {
                return pending;
            }
            // Retired by a flush that emptied it between the look-up and the lock: take the new one.
            pending.lock.unlock();
        }
    }

    /**
     * The pendings that hold rollups older than the interval and that no batch is using right now, each
     * locked for the caller ({@link Pending#close} unlocks); {@code all} takes every non-empty one, waiting
     * for batches in progress to finish, so that everything committed before the call is then written.
     */
    public List<Pending> takeDue(boolean all) {
        long now = nanoTime.getAsLong();
        List<Pending> due = new ArrayList<>();
        for (Pending pending : byInstance.values()) {
            if (all) {
                pending.lock.lock();
            } else if (!pending.lock.tryLock()) {
                continue;
            }
            if (!pending.retired && pending.rollups != null && (all || pending.due(now))) {
                due.add(pending);
            } else {
                pending.lock.unlock();
            }
        }
        return due;
    }

    /** Instances with rollups held in memory (for tests and the log). */
    public int size() {
        return (int) byInstance.values().stream().filter(p -> p.rollups != null).count();
    }

    /**
     * One instance's rollups in memory and the state of one transaction that adds to them. The holder of
     * the lock calls {@link #begin} with the mark row it locked, adds events, then {@link #committed} after
     * the commit; {@link #close} after anything else forgets what the transaction saw.
     */
    public final class Pending implements AutoCloseable {

        private final ReentrantLock lock = new ReentrantLock();
        private final UUID tenant;
        private final UUID instance;
        /** The stored sequences held are {@code (base, upTo]}; -1 when unknown (nothing held). */
        private long base = -1;
        private long upTo = -1;
        private EventRollups rollups;
        private long heldSince;
        private boolean retired;
        /** Between {@link #begin} and {@link #committed}: what is held may include events of an uncommitted transaction. */
        private boolean inTransaction;
        /** What the open transaction will have done at commit: the new mark, and whether it wrote the rollups. */
        private long stagedMark = -1;
        private boolean stagedWrite;

        private Pending(UUID tenant, UUID instance) {
            this.tenant = tenant;
            this.instance = instance;
        }

        public UUID tenant() {
            return tenant;
        }

        public UUID instance() {
            return instance;
        }

        /**
         * Called under the mark row's lock with what the row says: whether what is held continues exactly
         * there. If not, it is dropped, and the caller must add the stored events above
         * {@code rolledUpThrough} to {@link #rollups()} again ({@link #needsStoredEvents}).
         */
        boolean begin(long storedThrough, long rolledUpThrough) {
            boolean continues = !inTransaction && base >= 0 && base == rolledUpThrough && upTo == storedThrough;
            inTransaction = true;
            stagedMark = -1;
            if (continues) {
                return true;
            }
            rollups = null;
            base = rolledUpThrough;
            upTo = storedThrough;
            return false;
        }

        /** Whether stored events above the mark's {@code rolled_up_through} are missing from what is held. */
        boolean needsStoredEvents() {
            return upTo > base && rollups == null;
        }

        /** The rollups to add to (created on first use). */
        EventRollups rollups() {
            if (rollups == null) {
                rollups = new EventRollups();
                heldSince = nanoTime.getAsLong();
            }
            return rollups;
        }

        /** Whether the transaction should write what is held now: old enough, large enough, or no waiting at all. */
        boolean writeNow() {
            return rollups != null && !rollups.isEmpty()
                    && (interval.isZero() || due(nanoTime.getAsLong()) || rollups.keys() >= MAX_KEYS);
        }

        /** Whether what is held has waited the interval. */
        private boolean due(long now) {
            return rollups != null && now - heldSince >= interval.toNanos();
        }

        /** What the transaction will have done if it commits: the mark is {@code mark}, the rollups are written or not. */
        void stage(long mark, boolean wrote) {
            stagedMark = mark;
            stagedWrite = wrote;
        }

        /** The transaction committed: what it staged is now the database's state. */
        public void committed() {
            if (!inTransaction || stagedMark < 0) {
                forget();
                return;
            }
            inTransaction = false;
            if (stagedWrite) {
                base = stagedMark;
                rollups = null;
            }
            upTo = stagedMark;
        }

        private void forget() {
            inTransaction = false;
            base = -1;
            upTo = -1;
            rollups = null;
        }

        /** Unlocks; after a transaction that did not commit (or was not told so) nothing is held. */
        @Override
        public void close() {
            if (inTransaction) {
                forget();
            }
            if (rollups == null) {
                retired = true;
                byInstance.remove(instance, this);
            }
            lock.unlock();
        }
    }
}
