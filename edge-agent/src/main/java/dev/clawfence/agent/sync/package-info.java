/**
 * Talking to the control plane: {@link dev.clawfence.agent.sync.PolicyWire}, the one place where wire
 * messages become domain types and back; the enrolment and Sync clients; and
 * {@link dev.clawfence.agent.sync.EventUploader}, which streams the event spool over UploadEvents.
 */
package dev.clawfence.agent.sync;
