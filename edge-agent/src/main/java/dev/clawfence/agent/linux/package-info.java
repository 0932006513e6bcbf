/**
 * The Linux system calls the agent makes itself through the FFM API (no JNI): one binding of the C
 * library shared by the NFLOG reader and the systemd notifier.
 */
package dev.clawfence.agent.linux;
