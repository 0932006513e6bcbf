package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.JsonBody;
import dev.clawfence.controlplane.api.RequestShapes;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;

/**
 * {@code /api/v1/tenants/{tenant}/network/events/settings}: the tenant's event retention. {@code GET}
 * (any role) → {@code {retentionDays, default, maxRetentionDays, oldestRetained}}; {@code PUT
 * {retentionDays}} (owner, admin) sets it, {@code {"retentionDays": null}} goes back to the platform
 * default. A shorter retention hides older events at once and deletes them at the next maintenance
 * run, which the change asks for; a longer one keeps only what is still stored.
 */
@Controller("/api/v1/tenants/{tenant}/network/events/settings")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class EventSettingsController {

    private final TenantAccess access;
    private final EventRetention retention;
    private final EventMaintenance maintenance;
    private final EventsConfiguration config;

    public EventSettingsController(TenantAccess access, EventRetention retention, EventMaintenance maintenance,
            EventsConfiguration config) {
        this.access = access;
        this.retention = retention;
        this.maintenance = maintenance;
        this.config = config;
    }

    @Get
    public EventRetention.Setting get(HttpRequest<?> request, String tenant) {
        return access.read(Caller.of(request), tenant, retention::setting);
    }

    @Put
    @Consumes(MediaType.APPLICATION_JSON)
    public EventRetention.Setting put(HttpRequest<?> request, String tenant, @RequestBody(content = @Content(schema =
            @Schema(implementation = RequestShapes.EventSettings.class))) @Nullable @Body String body) {
        EventRetention.Setting changed = access.write(Caller.of(request), tenant, tx -> retention.change(tx, retentionDays(body)));
        // Reads follow the new figure at once; storage at this run (or any replica's next).
        maintenance.soon();
        return changed;
    }

    /** The body's {@code retentionDays}: null for the default; a 422 naming every problem otherwise. */
    private Integer retentionDays(String body) {
        JsonBody json = JsonBody.of(body);
        int max = config.maxRetentionDaysOrDefault();
        String expected = "expected a whole number of days from 1 to " + max + ", or null for the platform default ("
                + config.retentionDaysOrDefault() + ")";
        Integer days = null;
        if (!json.present("retentionDays")) {
            json.error("retentionDays", "is required; " + expected);
        } else {
            Object value = json.raw("retentionDays");
            if (value != null) {
                if ((value instanceof Integer || value instanceof Long) && ((Number) value).longValue() >= 1
                        && ((Number) value).longValue() <= max) {
                    days = ((Number) value).intValue();
                } else {
                    json.error("retentionDays", "is " + (value instanceof String ? "\"" + value + "\"" : value) + "; " + expected);
                }
            }
        }
        json.done();
        return days;
    }
}
