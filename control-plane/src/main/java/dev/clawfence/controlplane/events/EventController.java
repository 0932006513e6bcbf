package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.api.Paging;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.reactivestreams.Publisher;

/**
 * {@code /api/v1/tenants/{tenant}/network/events}: the tenant's connection events. {@code GET} with JSON
 * gives one page, newest first ({@code limit} 1-1000, default 100; {@code nextCursor} for the next);
 * with {@code Accept: text/csv} the whole range as a download; {@code GET /stream} the new events as
 * Server-Sent Events. All take the same filters (see {@link EventFilter}); any role may read.
 */
@Controller("/api/v1/tenants/{tenant}/network/events")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class EventController {

    static final String TEXT_CSV = "text/csv";
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final TenantAccess access;
    private final EventQuery query;
    private final EventCsvExport export;
    private final EventLiveStream live;
    private final Clock clock = Clock.systemUTC();

    public EventController(TenantAccess access, EventQuery query, EventCsvExport export, EventLiveStream live) {
        this.access = access;
        this.query = query;
        this.export = export;
        this.live = live;
    }

    /** One JSON page, or with {@code Accept: text/csv} (and not JSON) the whole range as a CSV download. */
    @Get
    @Produces({MediaType.APPLICATION_JSON, TEXT_CSV})
    public HttpResponse<?> list(HttpRequest<?> request, String tenant) {
        UUID tenantId = Ids.parse("tenant", tenant);
        EventFilter.Params params = params(request);
        if (wantsCsv(request)) {
            return csv(request, tenant, tenantId, params);
        }
        int limit = limit(params.one("limit"));
        String cursorText = params.one("cursor");
        Long cursorFrom = cursorText == null || cursorText.isEmpty() ? null : EventCursor.fromMicros(cursorText);
        EventFilter filter = EventFilter.parse(tenantId, params, clock.instant(),
                cursorFrom == null ? null : Instant.EPOCH.plusNanos(cursorFrom * 1000));
        EventCursor after = cursorText == null || cursorText.isEmpty() ? null : EventCursor.decode(cursorText, filter.fingerprint());
        return HttpResponse.ok(access.read(Caller.of(request), tenant, tx -> query.page(tx, filter, after, limit)))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
    }

    private HttpResponse<Publisher<byte[]>> csv(HttpRequest<?> request, String tenant, UUID tenantId, EventFilter.Params params) {
        for (String name : List.of("limit", "cursor")) {
            if (params.one(name) != null) {
                throw ApiProblem.badRequest(name, "is not a parameter of the CSV export, which holds the whole range");
            }
        }
        EventFilter filter = EventFilter.parse(tenantId, params, clock.instant(), null);
        Caller caller = Caller.of(request);
        // Checked here, so that a foreign tenant is a 404 before the 200 and the first byte go out.
        access.read(caller, tenant, tx -> tx.tenantId());
        String file = "events-" + FILE_TIME.format(filter.from()) + "-" + FILE_TIME.format(filter.to()) + ".csv";
        return HttpResponse.ok(export.stream(caller, tenant, filter))
                .contentType(TEXT_CSV + "; charset=utf-8")
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + file + "\"");
    }

    /** CSV when the client accepts it and prefers it to JSON (an absent Accept means JSON). */
    static boolean wantsCsv(HttpRequest<?> request) {
        for (MediaType type : request.accept()) {
            String name = type.getName();
            if (name.equals(TEXT_CSV)) {
                return true;
            }
            if (name.equals(MediaType.APPLICATION_JSON) || name.equals("*/*") || name.equals("application/*")) {
                return false;
            }
        }
        return false;
    }

    @Get("/stream")
    @Produces(MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<String>> stream(HttpRequest<?> request, String tenant,
            @Nullable @Header("Last-Event-ID") String lastEventId) {
        UUID tenantId = Ids.parse("tenant", tenant);
        EventFilter filter = EventFilter.parseLive(tenantId, params(request));
        EventLiveStream.Position after = lastEventId == null || lastEventId.isBlank() ? null
                : EventLiveStream.Position.parse(lastEventId);
        Caller caller = Caller.of(request);
        access.read(caller, tenant, tx -> tx.tenantId());
        return live.open(caller, request.getHeaders().get(HttpHeaders.AUTHORIZATION), tenant, tenantId, filter, after);
    }

    static int limit(String value) {
        return Paging.limit(value, DEFAULT_LIMIT, MAX_LIMIT);
    }

    private static EventFilter.Params params(HttpRequest<?> request) {
        return name -> request.getParameters().getAll(name);
    }
}
