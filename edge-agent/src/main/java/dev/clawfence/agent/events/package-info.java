/**
 * The agent's connection-event path on the host: the NFLOG capture (reader thread → decoded
 * {@code ConnectionEvent} → spool) and the per-decision counter reports sent on the Sync stream.
 *
 * <p>Belongs here: turning what the kernel logged and counted into wire messages, and the threads that
 * do it. Does not belong here: netlink parsing ({@code agent.nflog}), the on-disk queue
 * ({@code agent.spool}), uploading ({@code agent.sync}/upload), rendering the log rules ({@code policy.render}).
 */
package dev.clawfence.agent.events;
