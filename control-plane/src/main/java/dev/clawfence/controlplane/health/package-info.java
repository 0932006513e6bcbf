/** Health and readiness indicators served by micronaut-management under {@code /health}. */
package dev.clawfence.controlplane.health;
