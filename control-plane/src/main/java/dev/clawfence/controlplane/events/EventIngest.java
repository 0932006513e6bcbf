package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.proto.agent.v1.EventBatch;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.time.Clock;
import java.util.UUID;
import org.jooq.exception.DataAccessException;

/**
 * The control plane's entry to event storage: one batch of one agent's events, stored exactly once in
 * one transaction of its tenant (see {@link EventStore}). The upload RPC calls this after it has
 * authenticated the agent, so tenant and instance come from the agent's certificate.
 */
@Singleton
public final class EventIngest {

    private final TenantAccess access;
    private final EventStore store;

    public EventIngest(TenantAccess access, EventsConfiguration config) {
        this.access = access;
        this.store = new EventStore(Clock.systemUTC(), config.retentionDaysOrDefault(), config.futureToleranceOrDefault());
    }

    /**
     * Stores {@code batch} for {@code instance} of {@code tenant} and returns the new mark.
     *
     * @throws InvalidEventBatchException when the batch breaks the contract (nothing stored)
     * @throws IllegalArgumentException when the instance is not the tenant's
     */
    public IngestResult ingest(UUID tenant, UUID instance, EventBatch batch) {
        return access.system(tenant, Caller.agent(tenant, instance, null), tx -> tx.sql().connectionResult(connection -> {
            try {
                IngestResult result = store.ingest(connection, tenant, instance, batch);
                if (result.stored() > 0) {
                    // Live stream: log the batch and notify, both taking effect at commit.
                    EventLiveStream.recordBatch(connection, tenant, instance);
                }
                return result;
            } catch (SQLException e) {
                throw new DataAccessException("cannot store the event batch of instance " + instance, e);
            }
        }));
    }
}
