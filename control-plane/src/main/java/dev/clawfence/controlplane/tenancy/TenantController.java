package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.JsonBody;
import dev.clawfence.controlplane.audit.AuditLog;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import dev.clawfence.controlplane.api.RequestShapes;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.List;

/**
 * {@code /api/v1/tenants}: platform admins create ({@code POST {name}} → 201 {@code {id, name,
 * createdAt}}) and list tenants; a tenant token sees only its own tenant.
 */
@Controller("/api/v1/tenants")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class TenantController {

    private final Tenants tenants;
    private final TenantAccess access;
    private final AuditLog audit;

    public TenantController(Tenants tenants, TenantAccess access, AuditLog audit) {
        this.tenants = tenants;
        this.access = access;
        this.audit = audit;
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<Tenants.Tenant> create(HttpRequest<?> request, @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.CreateTenant.class))) @Nullable @Body String body) {
        Caller caller = Caller.of(request);
        if (!caller.isPlatformAdmin()) {
            throw ApiProblem.forbidden("Only a platform admin token can create tenants.");
        }
        JsonBody json = JsonBody.of(body);
        String name = json.text("name", 200);
        json.done();
        return HttpResponse.status(HttpStatus.CREATED).body(tenants.create(caller, name));
    }

    @Get
    public List<Tenants.Tenant> list(HttpRequest<?> request) {
        Caller caller = Caller.of(request);
        if (caller.isPlatformAdmin()) {
            audit.recordPlatform(caller, "tenant.list", "tenants", null);
            return tenants.all();
        }
        return List.of(access.read(caller, caller.tenantId().toString(), tenants::get));
    }

    @Get("/{tenant}")
    public Tenants.Tenant get(HttpRequest<?> request, String tenant) {
        return access.read(Caller.of(request), tenant, tenants::get);
    }
}
