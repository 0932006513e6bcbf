package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
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
 * Writes what agents report on their Sync streams about themselves (hellos, pings as signs of life,
 * apply results) and the ends of their streams behind the stream, in batches every {@value #FLUSH_MILLIS}
 * ms: one transaction per tenant and flush instead of one per message. After a save every agent of the
 * tenant pings and reports within a moment, and after a control-plane restart all of them say hello at
 * once; written one by one, those thousands of transactions queue in the connection pool ahead of the
 * next save and hold each stream behind a database round trip. What a stream needs at once (checks, its
 * policy, pongs) never waits for this. Hellos, ends and apply results of an instance keep their order
 * (an end is never overtaken by its own hello); a failure or rollback is written at once (with what was
 * pending before it) and still gets its audit entry, under the agent's name. A batch the database
 * refuses is logged and dropped: the agent repeats its facts and applied version in every hello.
 */
@Singleton
public final class InstanceReports implements AutoCloseable {

    static final int FLUSH_MILLIS = 200;

    private static final Logger LOG = LoggerFactory.getLogger(InstanceReports.class);

    /** One apply result as the agent sent it. */
    record Result(UUID tenant, UUID instance, String remoteAddress, long version, String outcome, String reason,
            String rulesetHash) {}

    /** A report waiting for the next flush: a change written in a batch, or a failure with its audit entry. */
    private record Pending(UUID tenant, Instances.Change change, Result failure) {}

    private final TenantAccess access;
    private final Instances instances;
    private final Map<UUID, Set<UUID>> seen = new ConcurrentHashMap<>();
    /** One queue for every kind of report, so that an instance's reports are written in the order they came. */
    private final Queue<Pending> pending = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("clawfence-instance-reports").factory());

    public InstanceReports(TenantAccess access, Instances instances) {
        this.access = access;
        this.instances = instances;
        timer.scheduleWithFixedDelay(this::flush, FLUSH_MILLIS, FLUSH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** A stream of the instance that opened at {@code since} said {@code hello}. */
    void connected(UUID tenant, UUID instance, Instances.Hello hello, OffsetDateTime since) {
        pending.add(new Pending(tenant, new Instances.Connected(instance, hello, since), null));
    }

    /** The instance's stream that opened at {@code since} ended. */
    void disconnected(UUID tenant, UUID instance, OffsetDateTime since) {
        pending.add(new Pending(tenant, new Instances.Disconnected(instance, since), null));
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
        if ("APPLIED".equals(result.outcome())) {
            pending.add(new Pending(result.tenant(),
                    new Instances.Applied(result.instance(), result.version(), result.rulesetHash()), null));
            return;
        }
        pending.add(new Pending(result.tenant(), null, result));
        // A failure or rollback shows (and is audited) at once, after everything reported before it.
        flush();
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
        Map<UUID, List<Pending>> byTenant = new LinkedHashMap<>();
        for (Pending report; (report = pending.poll()) != null; ) {
            byTenant.computeIfAbsent(report.tenant(), t -> new ArrayList<>()).add(report);
        }
        byTenant.forEach((tenant, list) -> guarded(tenant, () -> write(tenant, list)));
    }

    private static void guarded(UUID tenant, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("Cannot record the reports of tenant {}'s agents: {}", tenant, e.getMessage(), e);
        }
    }

    private void write(UUID tenant, List<Pending> list) {
        List<Instances.Change> batch = new ArrayList<>();
        for (Pending report : list) {
            if (report.failure() == null) {
                batch.add(report.change());
                continue;
            }
            writeBatch(tenant, batch);
            batch = new ArrayList<>();
            Result result = report.failure();
            access.system(tenant, Caller.agent(tenant, result.instance(), result.remoteAddress()), tx -> {
                instances.applied(tx, result.instance(), result.version(), result.outcome(), result.reason(),
                        result.rulesetHash());
                return null;
            });
        }
        writeBatch(tenant, batch);
    }

    private void writeBatch(UUID tenant, List<Instances.Change> batch) {
        if (!batch.isEmpty()) {
            access.system(tenant, Caller.system(), tx -> {
                instances.record(tx, batch);
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
