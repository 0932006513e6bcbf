/**
 * The Clawfence control plane: entry point and top-level configuration. Features live in packages by
 * concern: {@code tenancy} (tenants, users, tokens, authentication), {@code policy} (versions,
 * simulation), {@code audit}, {@code database}, {@code api} (problem+json and request plumbing),
 * {@code health}, {@code demo}, {@code admin} (gRPC admin service).
 */
package dev.clawfence.controlplane;
