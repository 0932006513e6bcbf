package dev.clawfence.bench;

import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Validated;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Validation and normalisation of a policy tree with 10,000 allowlist entries (target: under 200 ms),
 * compilation of the validated document into an evaluator, and as the reference just parsing the
 * 10,000 CIDR strings with inet.ipaddr's {@link IPAddressString}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ValidationBenchmark {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private Map<String, Object> tree;
    private List<String> cidrs;
    private PolicyDocument document;

    @Setup(Level.Trial)
    public void setUp() {
        Workload workload = new Workload(1);
        tree = workload.policyTree();
        cidrs = workload.cidrs;
        document = PolicyValidator.validate(tree, NOW).value();
    }

    @Benchmark
    public Validated<PolicyDocument> validate() {
        return PolicyValidator.validate(tree, NOW);
    }

    @Benchmark
    public Evaluator compile() {
        return Evaluator.compile(document, PlatformRules.NONE);
    }

    @Benchmark
    public void referenceParseCidrs(Blackhole blackhole) {
        for (String cidr : cidrs) {
            IPAddress address = new IPAddressString(cidr).getAddress();
            blackhole.consume(address);
        }
    }
}
