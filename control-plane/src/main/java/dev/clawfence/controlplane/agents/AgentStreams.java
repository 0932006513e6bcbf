package dev.clawfence.controlplane.agents;

import io.grpc.Status;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Sync streams open on this replica, by tenant: where policy updates and revocations go; and the
 * UploadEvents streams, which only revocations and shutdown close.
 */
@Singleton
public final class AgentStreams {

    private final Map<UUID, Set<SyncSession>> byTenant = new ConcurrentHashMap<>();
    private final Set<UploadSession> uploads = ConcurrentHashMap.newKeySet();

    void addUpload(UploadSession session) {
        uploads.add(session);
    }

    void removeUpload(UploadSession session) {
        uploads.remove(session);
    }

    void add(SyncSession session) {
        byTenant.computeIfAbsent(session.identity().tenantId(), t -> ConcurrentHashMap.newKeySet()).add(session);
    }

    void remove(SyncSession session) {
        byTenant.computeIfPresent(session.identity().tenantId(), (t, sessions) -> {
            sessions.remove(session);
            return sessions.isEmpty() ? null : sessions;
        });
    }

    /** The tenant's streams here. */
    public List<SyncSession> of(UUID tenant) {
        Set<SyncSession> sessions = byTenant.get(tenant);
        return sessions == null ? List.of() : List.copyOf(sessions);
    }

    /** Whether the tenant has streams here (without copying them). */
    public boolean has(UUID tenant) {
        return byTenant.containsKey(tenant);
    }

    /** The tenants with streams here. */
    public Set<UUID> tenants() {
        return Set.copyOf(byTenant.keySet());
    }

    /** Closes every stream of {@code instance} with {@code status}. */
    public void close(UUID tenant, UUID instance, Status status) {
        of(tenant).stream().filter(s -> s.identity().instanceId().equals(instance)).forEach(s -> s.close(status));
        List.copyOf(uploads).stream()
                .filter(u -> u.identity().tenantId().equals(tenant) && u.identity().instanceId().equals(instance))
                .forEach(u -> u.close(status));
    }

    /**
     * Closes every stream here (shutdown); the future completes once all Sync streams have ended (an
     * upload stream ends once the batch in hand is stored).
     */
    public CompletableFuture<Void> closeAll(Status status) {
        List.copyOf(uploads).forEach(u -> Thread.ofVirtual().start(() -> u.close(status)));
        return CompletableFuture.allOf(byTenant.values().stream()
                .flatMap(sessions -> List.copyOf(sessions).stream())
                .map(s -> s.close(status))
                .toArray(CompletableFuture[]::new));
    }

    /** How many streams are open here. */
    public int size() {
        return byTenant.values().stream().mapToInt(Set::size).sum();
    }
}
