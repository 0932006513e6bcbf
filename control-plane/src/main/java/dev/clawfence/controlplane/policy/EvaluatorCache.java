package dev.clawfence.controlplane.policy;

import dev.clawfence.policy.Evaluator;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Compiled evaluators by (tenant, version): versions never change, so an entry never goes stale; the
 * least recently used are dropped beyond a fixed number.
 */
@Singleton
public final class EvaluatorCache {

    private static final int CAPACITY = 1_000;

    private record Key(UUID tenant, int version) {}

    private final PlatformConfiguration platform;
    private final Map<Key, Evaluator> evaluators = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Evaluator> eldest) {
            return size() > CAPACITY;
        }
    };

    public EvaluatorCache(PlatformConfiguration platform) {
        this.platform = platform;
    }

    public Evaluator evaluator(UUID tenant, PolicyVersion version) {
        return evaluator(tenant, version.version(), () -> Optional.of(version)).orElseThrow();
    }

    /**
     * The evaluator of version {@code number}, loading the version with {@code load} only when it is not
     * cached (event ingest asks per batch, and loading means reading and parsing the document); empty
     * when {@code load} finds no such version.
     */
    public Optional<Evaluator> evaluator(UUID tenant, int number, Supplier<Optional<PolicyVersion>> load) {
        Key key = new Key(tenant, number);
        synchronized (evaluators) {
            Evaluator cached = evaluators.get(key);
            if (cached != null) {
                return Optional.of(cached);
            }
        }
        Optional<PolicyVersion> version = load.get();
        if (version.isEmpty()) {
            return Optional.empty();
        }
        // Compiled outside the lock: two racing compilations of one version give equal evaluators.
        Evaluator compiled = Evaluator.compile(version.get().document(), platform.rules());
        synchronized (evaluators) {
            evaluators.putIfAbsent(key, compiled);
            return Optional.of(evaluators.get(key));
        }
    }
}
