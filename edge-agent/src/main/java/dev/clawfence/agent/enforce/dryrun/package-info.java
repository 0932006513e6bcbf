/** The dry-run backend: logs what it would apply and touches nothing. */
package dev.clawfence.agent.enforce.dryrun;
