package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what agents report on their Sync streams about themselves (pings as signs of life, apply
 * results) behind the stream, in batches every {@value #FLUSH_MILLIS} ms: one transaction per tenant and
 * flush instead of one per message. After a save every agent of the tenant pings and reports within a
 * moment; written one by one, those thousands of transactions queue in the connection pool ahead of the
 * next save and hold each stream's pong behind a database round trip. Apply results keep their order
 * per instance; a failure or rollback is written at once (with what was pending before it) and still
 * gets its audit entry, under the agent's name. A batch the
 * database refuses is logged and dropped: the agent repeats its applied version in every hello.
 */
@Singleton
public final class InstanceReports implements AutoCloseable {

    static final int FLUSH_MILLIS = 200;

    private static final Logger LOG = LoggerFactory.getLogger(InstanceReports.class);

    /** One apply result as the agent sent it. */
    record Result(UUID tenant, UUID instance, String remoteAddress, long version, String outcome, String reason,
            String rulesetHash) {}

    private final TenantAccess access;
    private final Instances instances;
    private final Map<UUID, Set<UUID>> seen = new ConcurrentHashMap<>();
    private final Queue<Result> results = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("clawfence-instance-reports").factory());

    public InstanceReports(TenantAccess access, Instances instances) {
        this.access = access;
        this.instances = instances;
        timer.scheduleWithFixedDelay(this::flush, FLUSH_MILLIS, FLUSH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The instance was heard from now. */
    void seen(UUID tenant, UUID instance) {
        // compute, not computeIfAbsent + add: an add must not land in a set that flush() just took away.
        seen.compute(tenant, (t, ids) -> {
            Set<UUID> set = ids == null ? ConcurrentHashMap.newKeySet() : ids;
            set.add(instance);
            return set;
        });
    }

    /** The instance reports the outcome of applying {@code version}. */
    void applied(Result result) {
        results.add(result);
        if (!"APPLIED".equals(result.outcome())) {
            // A failure or rollback shows (and is audited) at once, after everything reported before it.
            flush();
        }
    }

    /** Writes everything reported so far; runs on the timer, and once more at shutdown. */
    synchronized void flush() {
        for (UUID tenant : List.copyOf(seen.keySet())) {
            Set<UUID> ids = seen.remove(tenant);
            if (ids != null && !ids.isEmpty()) {
                guarded(tenant, () -> access.system(tenant, Caller.system(), tx -> {
                    instances.seen(tx, ids);
                    return null;
                }));
            }
        }
        Map<UUID, List<Result>> byTenant = new LinkedHashMap<>();
        for (Result result; (result = results.poll()) != null; ) {
            byTenant.computeIfAbsent(result.tenant(), t -> new ArrayList<>()).add(result);
        }
        byTenant.forEach((tenant, list) -> guarded(tenant, () -> writeResults(tenant, list)));
    }

    private static void guarded(UUID tenant, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("Cannot record the reports of tenant {}'s agents: {}", tenant, e.getMessage(), e);
        }
    }

    private void writeResults(UUID tenant, List<Result> list) {
        List<Instances.Applied> batch = new ArrayList<>();
        for (Result result : list) {
            if ("APPLIED".equals(result.outcome())) {
                batch.add(new Instances.Applied(result.instance(), result.version(), result.rulesetHash()));
                continue;
            }
            writeApplied(tenant, batch);
            batch = new ArrayList<>();
            access.system(tenant, Caller.agent(tenant, result.instance(), result.remoteAddress()), tx -> {
                instances.applied(tx, result.instance(), result.version(), result.outcome(), result.reason(),
                        result.rulesetHash());
                return null;
            });
        }
        writeApplied(tenant, batch);
    }

    private void writeApplied(UUID tenant, List<Instances.Applied> batch) {
        if (!batch.isEmpty()) {
            access.system(tenant, Caller.system(), tx -> {
                instances.appliedAll(tx, batch);
                return null;
            });
        }
    }

    @PreDestroy
    @Override
    public void close() {
        timer.shutdownNow();
        flush();
    }
}
