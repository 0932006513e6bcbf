/**
 * The host's established TCP connections, read from the kernel's socket tables ({@code /proc/net/tcp}
 * and {@code tcp6}) and told apart into inbound (the local end is a listening port) and outbound: what
 * the Security tab shows as "active connections". Plain data; the Sync client puts it on the wire.
 */
package dev.clawfence.agent.connections;
