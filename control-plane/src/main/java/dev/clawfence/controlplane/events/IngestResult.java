package dev.clawfence.controlplane.events;

/**
 * What one batch did to an instance's events.
 *
 * @param storedThrough the instance's high-water mark after the batch: every sequence up to it is
 *     stored or counted (the ack an agent gets)
 * @param stored events of this batch written now
 * @param duplicates events at or below the previous mark (a retried batch), skipped
 * @param expired events older than the retention, counted and not stored
 * @param clamped events too far in the future, stored with the receive time
 * @param lost events that newly recorded losses of the batch account for
 */
public record IngestResult(long storedThrough, int stored, int duplicates, int expired, int clamped, long lost) {}
