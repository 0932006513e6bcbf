/**
 * The control plane's certificate authority: the root shared by every replica through the database,
 * the agents' client certificates (issued from their CSRs) and the agent gateway's server certificate.
 */
package dev.clawfence.controlplane.certificates;
