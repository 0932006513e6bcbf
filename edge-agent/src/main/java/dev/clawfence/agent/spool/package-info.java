/**
 * The agent's bounded on-disk event spool: events wait here, numbered with per-agent sequence
 * numbers, until the control plane acknowledges them; what the spool cannot keep (full, corrupted,
 * torn by a crash) is counted as a {@link dev.clawfence.agent.spool.Loss}, never dropped silently.
 */
package dev.clawfence.agent.spool;
