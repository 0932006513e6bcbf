/**
 * Talking to the service manager: {@link dev.clawfence.agent.systemd.SystemdNotifier} sends the
 * {@code sd_notify} datagrams ({@code READY=1}, {@code STATUS=}, {@code STOPPING=1}) that a
 * {@code Type=notify} unit waits for. Plain JDK (the FFM API), no other part of the agent.
 */
package dev.clawfence.agent.systemd;
