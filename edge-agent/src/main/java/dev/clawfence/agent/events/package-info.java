/**
 * Connection events on their way into the spool from sources other than the kernel: the synthetic
 * event source that the crash test uses in place of the NFLOG capture. (The upload to the control
 * plane is {@link dev.clawfence.agent.sync.EventUploader}: only {@code sync} talks gRPC.)
 */
package dev.clawfence.agent.events;
