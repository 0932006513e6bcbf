/**
 * The agent's configuration: one YAML file plus {@code CLAWFENCE_AGENT_*} environment variables plus
 * command-line flags, read into the immutable {@link dev.clawfence.agent.config.AgentConfig}, with every
 * problem reported at once by key.
 */
package dev.clawfence.agent.config;
