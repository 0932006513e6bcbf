/**
 * Talking to the control plane: {@link dev.clawfence.agent.sync.PolicyWire}, the one place where wire
 * messages become domain types and back; later the enrolment and Sync clients.
 */
package dev.clawfence.agent.sync;
