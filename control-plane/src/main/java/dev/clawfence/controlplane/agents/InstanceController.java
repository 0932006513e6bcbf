package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.api.Paging;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * {@code /api/v1/tenants/{tenant}/instances}: {@code GET} lists the tenant's instances with their
 * status, applied and current policy version, last apply outcome and drift; {@code POST /{id}/revoke}
 * (owners and admins) revokes one for good and closes its streams at once; {@code GET /{id}/connections}
 * shows its established connections.
 */
@Controller("/api/v1/tenants/{tenant}/instances")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class InstanceController {

    private final TenantAccess access;
    private final Instances instances;
    private final AgentStreams streams;
    private final ActiveConnectionsStore connections;

    public InstanceController(TenantAccess access, Instances instances, AgentStreams streams, ActiveConnectionsStore connections) {
        this.access = access;
        this.instances = instances;
        this.streams = streams;
        this.connections = connections;
    }

    /** How long a live request waits for the agent before it answers with the last report. */
    static final Duration LIVE_WAIT = Duration.ofSeconds(3);
    private static final int DEFAULT_CONNECTIONS = 1000;
    private static final SecureRandom REQUEST_IDS = new SecureRandom();

    /**
     * The instance's active connections. With {@code live} (the default) the agent is asked for its list
     * now, through whichever replica holds its stream; when it is not connected or does not answer within
     * {@link #LIVE_WAIT}, the answer is its last report, with {@code live: false} and a note saying why.
     */
    @Get("/{id}/connections")
    public ConnectionsView connections(HttpRequest<?> request, String tenant, String id, @Nullable @QueryValue String limit,
            @Nullable @QueryValue String live) throws InterruptedException {
        UUID instance = Ids.parse("id", id);
        int max = Paging.limit(limit, DEFAULT_CONNECTIONS, ActiveConnectionsStore.MAX_LIST);
        boolean askAgent = flag("live", live);
        Caller caller = Caller.of(request);
        long requestId = REQUEST_IDS.nextLong(1, Long.MAX_VALUE);
        ActiveConnectionsStore.Request sent = access.read(caller, tenant, tx -> askAgent
                ? connections.request(tx, instance, requestId, max)
                : connections.lastReport(tx, instance));
        if (!sent.sent()) {
            return ConnectionsView.stored(instance, sent.before(), askAgent ? "The instance is not connected" : null);
        }
        long deadline = System.nanoTime() + LIVE_WAIT.toNanos();
        Optional<ActiveConnectionsStore.Stored> now = sent.before();
        while (System.nanoTime() < deadline) {
            Thread.sleep(50);
            now = access.read(caller, tenant, tx -> connections.stored(tx, instance));
            if (now.isPresent() && Long.valueOf(requestId).equals(now.get().listRequestId())) {
                return ConnectionsView.live(instance, now.get());
            }
        }
        return ConnectionsView.stored(instance, now, "The agent did not answer within " + LIVE_WAIT.toSeconds() + " s");
    }

    /** What {@code GET /{id}/connections} returns; the list is null when there is only a summary. */
    public record ConnectionsView(UUID instance, boolean live, String note, OffsetDateTime takenAt, Integer inboundTotal,
            Integer outboundTotal, List<ActiveConnectionsStore.PortView> topPorts, OffsetDateTime listTakenAt, Boolean truncated,
            List<ActiveConnectionsStore.ConnectionView> connections) {

        static ConnectionsView live(UUID instance, ActiveConnectionsStore.Stored stored) {
            return new ConnectionsView(instance, true, null, stored.takenAt(), stored.inboundTotal(), stored.outboundTotal(),
                    stored.topPorts(), stored.listTakenAt(), stored.listTruncated(), stored.list());
        }

        /** The stored report, with a note saying why it is not live ({@code whyNotLive} null: nobody asked for live). */
        static ConnectionsView stored(UUID instance, Optional<ActiveConnectionsStore.Stored> stored, String whyNotLive) {
            String note = stored.isEmpty()
                    ? (whyNotLive == null ? "The agent has not reported its connections yet." : whyNotLive + "; it has not reported its connections yet.")
                    : (whyNotLive == null ? "The last report; live=true asks the agent now." : whyNotLive + "; this is its last report.");
            return stored.map(s -> new ConnectionsView(instance, false, note, s.takenAt(), s.inboundTotal(), s.outboundTotal(),
                            s.topPorts(), s.listTakenAt(), s.listTruncated(), s.list()))
                    .orElseGet(() -> new ConnectionsView(instance, false, note, null, null, null, List.of(), null, null, null));
        }
    }

    private static boolean flag(String name, String value) {
        if (value == null || value.isBlank() || value.equals("true")) {
            return true;
        }
        if (value.equals("false")) {
            return false;
        }
        throw ApiProblem.badRequest(name, "\"" + value + "\" is not true or false");
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
