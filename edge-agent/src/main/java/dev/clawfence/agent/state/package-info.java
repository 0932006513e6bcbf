/**
 * The agent's state directory: the last applied policy version and the sets it holds, written
 * atomically and checked on reading, so a crash or a damaged disk never yields half a policy.
 */
package dev.clawfence.agent.state;
