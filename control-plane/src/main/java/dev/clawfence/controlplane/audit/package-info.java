/**
 * The audit log: one entry per change (and per admin action), naming who (token name and id), what
 * (action, target, a short detail), when, and from which address; readable by the tenant.
 */
package dev.clawfence.controlplane.audit;
