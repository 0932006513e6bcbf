package dev.clawfence.controlplane.tenancy;

import static dev.clawfence.controlplane.database.jooq.Tables.TENANTS;

import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.database.jooq.Routines;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;

/** Creates and lists tenants. Creating and listing all tenants is for platform admins only. */
@Singleton
public final class Tenants {

    /** A tenant as the API shows it. */
    public record Tenant(UUID id, String name, OffsetDateTime createdAt) {}

    private final Database database;
    private final TenantAccess access;
    private final AuditLog audit;

    public Tenants(Database database, TenantAccess access, AuditLog audit) {
        this.database = database;
        this.access = access;
        this.audit = audit;
    }

    /** Creates a tenant; the insert runs in the new tenant's own context, as row-level security demands. */
    public Tenant create(Caller admin, String name) {
        UUID id = UUID.randomUUID();
        return access.system(id, admin, tx -> {
            var row = tx.sql().insertInto(TENANTS).set(TENANTS.ID, id).set(TENANTS.NAME, name)
                    .returning().fetchOne();
            audit.record(tx, "tenant.create", "tenant:" + id, "name=" + name);
            return new Tenant(row.getId(), row.getName(), row.getCreatedAt());
        });
    }

    /** Every tenant, through the database function that may look past row-level security. */
    public List<Tenant> all() {
        return database.withoutTenant(sql -> sql.selectFrom(Routines.clawfenceListTenants()).fetch()
                .map(r -> new Tenant(r.getId(), r.getName(), r.getCreatedAt())));
    }

    public Tenant get(TenantTransaction tx) {
        var row = tx.sql().selectFrom(TENANTS).where(TENANTS.ID.eq(tx.tenantId())).fetchSingle();
        return new Tenant(row.getId(), row.getName(), row.getCreatedAt());
    }
}
