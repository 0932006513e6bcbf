package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.List;
import java.util.UUID;

/**
 * {@code /api/v1/tenants/{tenant}/instances}: {@code GET} lists the tenant's instances with their
 * status, applied and current policy version, last apply outcome and drift; {@code POST /{id}/revoke}
 * (owners and admins) revokes one for good and closes its streams at once.
 */
@Controller("/api/v1/tenants/{tenant}/instances")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class InstanceController {

    private final TenantAccess access;
    private final Instances instances;
    private final AgentStreams streams;

    public InstanceController(TenantAccess access, Instances instances, AgentStreams streams) {
        this.access = access;
        this.instances = instances;
        this.streams = streams;
    }

    @Get
    public List<Instances.InstanceView> list(HttpRequest<?> request, String tenant) {
        return access.read(Caller.of(request), tenant, instances::list);
    }

    @Post("/{id}/revoke")
    public HttpResponse<Void> revoke(HttpRequest<?> request, String tenant, String id) {
        UUID instance = Ids.parse("id", id);
        UUID tenantId = access.write(Caller.of(request), tenant, tx -> {
            instances.revoke(tx, instance);
            return tx.tenantId();
        });
        // Other replicas hear of it through the notification; here we need not wait for it.
        streams.close(tenantId, instance, PolicyNotifications.REVOKED);
        return HttpResponse.noContent();
    }
}
