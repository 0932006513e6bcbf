package dev.clawfence.controlplane.tenancy;

import java.util.UUID;
import org.jooq.DSLContext;

/**
 * One database transaction inside one tenant: row-level security shows only this tenant's rows, the
 * tenant exists, and the caller may act on it.
 */
public record TenantTransaction(DSLContext sql, UUID tenantId, Caller caller) {}
