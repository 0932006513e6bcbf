/**
 * Connection events in PostgreSQL (issue 4): checking an agent's {@code EventBatch}, storing it exactly
 * once per (instance, sequence) with {@code COPY}, and keeping the day partitions of
 * {@code connection_events} (created ahead, dropped after the retention). The upload RPC and the event
 * list API sit on top of this package and belong elsewhere.
 */
package dev.clawfence.controlplane.events;
