package dev.clawfence.controlplane.audit;

import dev.clawfence.controlplane.api.Paging;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/** {@code GET /api/v1/tenants/{tenant}/audit}: the tenant's audit entries, newest first, cursor-paged. */
@Controller("/api/v1/tenants/{tenant}/audit")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class AuditController {

    private final TenantAccess access;
    private final AuditLog audit;

    public AuditController(TenantAccess access, AuditLog audit) {
        this.access = access;
        this.audit = audit;
    }

    @Get
    public AuditLog.Page list(HttpRequest<?> request, String tenant, @Nullable @QueryValue String limit,
            @Nullable @QueryValue String cursor) {
        int pageSize = Paging.limit(limit);
        Long before = Paging.cursor(cursor);
        return access.read(Caller.of(request), tenant, tx -> audit.read(tx, pageSize, before));
    }
}
