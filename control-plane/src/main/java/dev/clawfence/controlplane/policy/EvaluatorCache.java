package dev.clawfence.controlplane.policy;

import dev.clawfence.policy.Evaluator;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

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
        Key key = new Key(tenant, version.version());
        synchronized (evaluators) {
            Evaluator cached = evaluators.get(key);
            if (cached != null) {
                return cached;
            }
        }
        // Compiled outside the lock: two racing compilations of one version give equal evaluators.
        Evaluator compiled = Evaluator.compile(version.document(), platform.rules());
        synchronized (evaluators) {
            evaluators.putIfAbsent(key, compiled);
            return evaluators.get(key);
        }
    }
}
