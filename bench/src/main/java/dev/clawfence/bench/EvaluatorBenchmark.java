package dev.clawfence.bench;

import dev.clawfence.policy.Connection;
import dev.clawfence.policy.Decision;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Validated;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Evaluator throughput for a policy of 10,000 allowlist CIDRs (mixed IPv4/IPv6), single thread,
 * connections drawn in turn from a pre-generated array (half inside some entry, tcp/443 and tcp/22
 * mixed). Two references run in the same process on the same machine: a binary search over 20,000
 * sorted long keys (about what an interval lookup must do at least) and a HashMap lookup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class EvaluatorBenchmark {

    private static final int CONNECTIONS = 1 << 14;
    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private Evaluator evaluator;
    private Connection[] connections;
    private long[] keys;
    private long[] probes;
    private Map<Long, Long> hashMap;
    private Long[] boxedProbes;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        Workload workload = new Workload(1);
        Validated<PolicyDocument> policy = PolicyValidator.validate(workload.policyTree(), NOW);
        if (!policy.isValid()) {
            throw new IllegalStateException(policy.errors().toString());
        }
        evaluator = Evaluator.compile(policy.value(), PlatformRules.NONE);
        List<String> sources = workload.sources(CONNECTIONS, 2);
        connections = new Connection[CONNECTIONS];
        for (int i = 0; i < CONNECTIONS; i++) {
            connections[i] = Connection.inbound(sources.get(i), i % 4 == 0 ? 22 : 443, Protocol.TCP);
        }
        Random random = new Random(3);
        keys = random.longs(2 * Workload.ENTRIES).sorted().toArray();
        probes = random.longs(CONNECTIONS).toArray();
        hashMap = new HashMap<>();
        for (long key : keys) {
            hashMap.put(key, key);
        }
        boxedProbes = new Long[CONNECTIONS];
        for (int i = 0; i < CONNECTIONS; i++) {
            boxedProbes[i] = i % 2 == 0 ? keys[random.nextInt(keys.length)] : probes[i];
        }
    }

    @Benchmark
    public Decision evaluate() {
        Connection connection = connections[next++ & (CONNECTIONS - 1)];
        return evaluator.evaluate(connection, NOW);
    }

    @Benchmark
    public int referenceBinarySearch() {
        return Arrays.binarySearch(keys, probes[next++ & (CONNECTIONS - 1)]);
    }

    @Benchmark
    public Long referenceHashMap() {
        return hashMap.get(boxedProbes[next++ & (CONNECTIONS - 1)]);
    }
}
