/**
 * Tenancy and identity: tenants, their users and API tokens, the platform admin token, authentication
 * of every {@code /api} request, and {@link dev.clawfence.controlplane.tenancy.TenantAccess}, the one
 * way into a tenant's data (access check, role check, row-level-security context, existence check).
 */
package dev.clawfence.controlplane.tenancy;
