/**
 * The agent's connection-event path on the host: the NFLOG capture (reader thread → decoded
 * {@code ConnectionEvent} → spool) and the per-decision counter reports sent on the Sync stream.
 *
 * <p>Belongs here: turning what the kernel logged and counted into wire messages, and the threads that
 * do it. Does not belong here: netlink parsing ({@code agent.nflog}), the on-disk queue
 * ({@code agent.spool}), uploading ({@code agent.sync}/upload), rendering the log rules ({@code policy.render}).
 *
 * <p>Also here: the synthetic event source the crash test uses in place of the NFLOG capture (the upload
 * to the control plane is {@link dev.clawfence.agent.sync.EventUploader}: only {@code sync} talks gRPC).
 */
package dev.clawfence.agent.events;
