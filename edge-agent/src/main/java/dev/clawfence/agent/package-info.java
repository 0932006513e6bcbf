/**
 * The agent process: {@link dev.clawfence.agent.Main} (command line), {@link dev.clawfence.agent.Agent}
 * (fail-static start, drift checks, expiry) and {@link dev.clawfence.agent.SafeApply} (commit-confirmed
 * application of a new policy version).
 */
package dev.clawfence.agent;
