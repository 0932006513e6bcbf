package dev.clawfence.controlplane.tenancy;

import static dev.clawfence.controlplane.database.jooq.Tables.TENANTS;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.database.Database;
import jakarta.inject.Singleton;
import java.util.UUID;
import java.util.function.Function;

/**
 * The one way into a tenant's data: checks that the caller may see the tenant (others get 404, as if it
 * did not exist), that it may write when it writes (viewers get 403), opens a transaction with the
 * tenant's row-level-security context, and checks that the tenant exists.
 */
@Singleton
public final class TenantAccess {

    private final Database database;

    public TenantAccess(Database database) {
        this.database = database;
    }

    /** Runs read-only work for any role. */
    public <T> T read(Caller caller, String tenantParam, Function<TenantTransaction, T> work) {
        return run(caller, tenantParam, false, work);
    }

    /** Runs work that changes the tenant's data: owners, admins and platform admins only. */
    public <T> T write(Caller caller, String tenantParam, Function<TenantTransaction, T> work) {
        return run(caller, tenantParam, true, work);
    }

    /** Runs work in {@code tenant} without the caller checks, for the service's own bootstrap work. */
    public <T> T system(UUID tenant, Caller actor, Function<TenantTransaction, T> work) {
        return database.inTenant(tenant, sql -> work.apply(new TenantTransaction(sql, tenant, actor)));
    }

    private <T> T run(Caller caller, String tenantParam, boolean writes, Function<TenantTransaction, T> work) {
        UUID tenant = Ids.parse("tenant", tenantParam);
        if (!caller.mayAccess(tenant)) {
            throw notFound(tenant);
        }
        if (writes && !caller.canWrite()) {
            throw ApiProblem.forbidden("A viewer token can read but not change anything; use an owner or admin token.");
        }
        return database.inTenant(tenant, sql -> {
            if (!sql.fetchExists(TENANTS, TENANTS.ID.eq(tenant))) {
                throw notFound(tenant);
            }
            return work.apply(new TenantTransaction(sql, tenant, caller));
        });
    }

    private static ApiProblem notFound(UUID tenant) {
        return ApiProblem.notFound("There is no tenant " + tenant + ".");
    }
}
