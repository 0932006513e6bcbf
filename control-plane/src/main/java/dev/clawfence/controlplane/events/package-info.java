/**
 * Connection events in PostgreSQL (issue 4): checking an agent's {@code EventBatch}, storing it exactly
 * once per (instance, sequence) with {@code COPY}, keeping the rollups current in the same transaction,
 * the agents' exact kernel counters, the day partitions of {@code connection_events} (created ahead,
 * dropped after the longest retention, rollups with them), each tenant's own retention (its settings
 * endpoint, and row deletes for tenants below the longest), and the rollup reports (summary, rule hits, top
 * sources and destinations, flagged traffic) with their REST endpoints. The upload RPC and the event
 * list API sit on top of this package and belong elsewhere.
 */
package dev.clawfence.controlplane.events;
