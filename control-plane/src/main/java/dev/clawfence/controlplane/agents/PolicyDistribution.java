package dev.clawfence.controlplane.agents;

import static dev.clawfence.controlplane.database.jooq.Tables.TENANTS;

import dev.clawfence.controlplane.policy.PlatformConfiguration;
import dev.clawfence.controlplane.policy.PolicyVersion;
import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.policy.compile.ScheduledPolicy;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles a tenant's current policy version for its agents (platform rules plus the gateway's own
 * endpoints, no country data yet) and hands it to every Sync stream of that tenant on this replica:
 * when told a new version committed, after the listener reconnects, and again when the compiled
 * policy's {@code validUntil} passes (an allowlist entry lapses). Each compilation carries its expiry
 * schedule ({@link PolicyCompiler#schedule}): the compilations at the next {@value #SCHEDULE_LIMIT}
 * expiries within {@link #SCHEDULE_HORIZON}, cut short where the update would pass
 * {@value #MAX_UPDATE_BYTES} bytes, so that an agent cut off from here still drops lapsed entries.
 * The push at {@code validUntil} stays: it confirms the switch and brings a fresh schedule.
 */
@Singleton
public final class PolicyDistribution {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyDistribution.class);
    /** At most this many scheduled compilations per update. */
    static final int SCHEDULE_LIMIT = 64;
    /** No scheduled compilation further ahead than this; the re-push at each expiry extends it. */
    static final Duration SCHEDULE_HORIZON = Duration.ofDays(7);
    /**
     * A schedule stops where the update would pass this many bytes. The agent accepts 64 MiB in one
     * message, but each step costs a compilation here and the bytes to every agent at every save: a
     * schedule is for the next few expiries, the re-push at each expiry brings the rest.
     */
    static final long MAX_UPDATE_BYTES = 3L << 20;

    /** A compiled version, in wire form. */
    public record Compiled(int version, CompiledPolicyWire.Wire wire, Instant validUntil) {}

    private final TenantAccess access;
    private final PolicyVersions versions;
    private final PlatformRules platform;
    private final AgentStreams streams;
    private final Clock clock = Clock.systemUTC();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("clawfence-policy-expiry").factory());
    private final Map<UUID, ScheduledFuture<?>> expiries = new ConcurrentHashMap<>();
    /** The last compilation per tenant with streams here: many agents reconnecting compile once. */
    private final Map<UUID, Compiled> compiledByTenant = new ConcurrentHashMap<>();

    public PolicyDistribution(TenantAccess access, PolicyVersions versions, PlatformConfiguration platform,
            AgentGatewayConfiguration gateway, AgentStreams streams) {
        this.access = access;
        this.versions = versions;
        PlatformRules rules = platform.rules();
        List<String> endpoints = new ArrayList<>(rules.controlPlaneEndpoints());
        endpoints.addAll(gateway.endpointAddressesOrEmpty());
        this.platform = new PlatformRules(rules.managementRanges(), endpoints, rules.dnsResolvers());
        this.streams = streams;
    }

    /**
     * The tenant's current version, compiled for now. A version never changes, and its compilation only
     * at {@code validUntil}, so an earlier compilation of the same version is reused until then.
     */
    public Compiled current(UUID tenant) {
        Instant now = clock.instant();
        Compiled cached = compiledByTenant.get(tenant);
        if (cached != null && (cached.validUntil() == null || now.isBefore(cached.validUntil()))) {
            // Every hello asks: after a restart, 10,000 of them. The pointer alone tells whether the cached
            // compilation is still current, without reading and parsing the document each time.
            int pointer = access.system(tenant, Caller.system(), tx -> tx.sql().select(TENANTS.POLICY_VERSION)
                    .from(TENANTS).where(TENANTS.ID.eq(tenant)).fetchSingle().value1());
            if (pointer == cached.version()) {
                return cached;
            }
        }
        PolicyVersion version = access.system(tenant, Caller.system(), versions::current);
        if (cached != null && cached.version() == version.version()
                && (cached.validUntil() == null || now.isBefore(cached.validUntil()))) {
            return cached;
        }
        CompiledPolicy compiled = PolicyCompiler.compile(version.document(), platform, CountryRanges.NONE, now);
        // Lazy: steps past the size budget are never compiled (each costs about one inbound compilation).
        Stream<ScheduledPolicy> schedule = PolicyCompiler.upcoming(version.document(), platform, CountryRanges.NONE, now,
                now.plus(SCHEDULE_HORIZON)).limit(SCHEDULE_LIMIT);
        scheduleExpiry(tenant, compiled.validUntil());
        Compiled result = new Compiled(version.version(), CompiledPolicyWire.toWire(compiled, schedule, MAX_UPDATE_BYTES),
                compiled.validUntil());
        compiledByTenant.put(tenant, result);
        // Keep only tenants that still have streams here (and this one, whose stream is opening).
        compiledByTenant.keySet().removeIf(t -> !t.equals(tenant) && streams.of(t).isEmpty());
        return result;
    }

    /** Sends the tenant's current version to its streams on this replica, if it has any. */
    public void push(UUID tenant) {
        List<SyncSession> sessions = streams.of(tenant);
        if (sessions.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        Compiled compiled;
        try {
            compiled = current(tenant);
        } catch (RuntimeException e) {
            LOG.error("Cannot compile the policy of tenant {} for its agents", tenant, e);
            return;
        }
        offer(tenant, sessions, compiled, false, start);
    }

    /** Offers {@code compiled} to {@code sessions} and logs where the fan-out's time went (one line per version). */
    private static void offer(UUID tenant, List<SyncSession> sessions, Compiled compiled, boolean again, long start) {
        long compiledAt = System.nanoTime();
        AtomicInteger left = new AtomicInteger(sessions.size());
        Runnable handled = () -> {
            if (left.decrementAndGet() == 0) {
                long end = System.nanoTime();
                LOG.info("Version {} of tenant {} went to its {} streams here: read and compiled in {} ms, "
                        + "handed to the last stream's gRPC buffer after {} ms", compiled.version(), tenant,
                        sessions.size(), (compiledAt - start) / 1_000_000, (end - start) / 1_000_000);
            }
        };
        sessions.forEach(session -> session.offer(compiled, again, handled));
    }

    /** Sends every tenant with streams here its current version (after a listener outage). */
    public void pushAll() {
        streams.tenants().forEach(this::push);
    }

    private void scheduleExpiry(UUID tenant, Instant validUntil) {
        if (validUntil == null) {
            return;
        }
        long delay = Math.max(0, Duration.between(clock.instant(), validUntil).toMillis()) + 1;
        expiries.compute(tenant, (t, previous) -> {
            if (previous != null && !previous.isDone()
                    && Math.abs(previous.getDelay(TimeUnit.MILLISECONDS) - delay) < 1000) {
                return previous;
            }
            if (previous != null) {
                previous.cancel(false);
            }
            return timer.schedule(() -> {
                expiries.remove(t);
                Thread.ofVirtual().start(() -> recompile(t));
            }, delay, TimeUnit.MILLISECONDS);
        });
    }

    /** At validUntil the same version compiles differently (lapsed entries drop out): force it out. */
    private void recompile(UUID tenant) {
        List<SyncSession> sessions = streams.of(tenant);
        if (sessions.isEmpty()) {
            return;
        }
        try {
            long start = System.nanoTime();
            offer(tenant, sessions, current(tenant), true, start);
        } catch (RuntimeException e) {
            LOG.error("Cannot recompile the policy of tenant {} at its expiry", tenant, e);
        }
    }

    @PreDestroy
    void stop() {
        timer.shutdownNow();
    }
}
