package dev.clawfence.bench;

import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Validated;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.policy.compile.ScheduledPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * What an expiry schedule costs the control plane: {@code PolicyCompiler.schedule} (64 steps) of the
 * 10,000-entry policy in which every 100th entry expires, an hour apart, against one
 * {@code PolicyCompiler.compile} of the same document as the reference. The setup prints how many set
 * elements the schedule adds to an update (content not already in the main policy).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
public class ScheduleBenchmark {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private PolicyDocument document;

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() {
        Map<String, Object> tree = new LinkedHashMap<>(new Workload(1).policyTree());
        Map<String, Object> inbound = new LinkedHashMap<>((Map<String, Object>) tree.get("inbound"));
        List<Object> allowlist = new ArrayList<>();
        List<Object> entries = (List<Object>) inbound.get("allowlist");
        for (int i = 0; i < entries.size(); i++) {
            Map<String, Object> entry = new LinkedHashMap<>((Map<String, Object>) entries.get(i));
            if (i % 100 == 0) {
                entry.put("expiresAt", NOW.plus(Duration.ofHours(1 + i / 100)).toString());
            }
            allowlist.add(entry);
        }
        inbound.put("allowlist", allowlist);
        tree.put("inbound", inbound);
        Validated<PolicyDocument> validated = PolicyValidator.validate(tree, NOW);
        if (!validated.errors().isEmpty()) {
            throw new IllegalStateException(validated.errors().toString());
        }
        document = validated.value();
        CompiledPolicy main = compile();
        List<ScheduledPolicy> steps = schedule();
        Set<String> held = new HashSet<>();
        long mainElements = 0;
        for (CompiledSet<?> set : main.sets()) {
            if (held.add(set.hash())) {
                mainElements += set.elements().size();
            }
        }
        long added = 0;
        for (ScheduledPolicy step : steps) {
            for (CompiledSet<?> set : step.policy().sets()) {
                if (held.add(set.hash())) {
                    added += set.elements().size();
                }
            }
        }
        System.out.printf("schedule: %d steps; main policy %d set elements; the schedule adds %d (%.1f per step)%n",
                steps.size(), mainElements, added, (double) added / steps.size());
    }

    @Benchmark
    public CompiledPolicy compile() {
        return PolicyCompiler.compile(document, PlatformRules.NONE, CountryRanges.NONE, NOW);
    }

    @Benchmark
    public List<ScheduledPolicy> schedule() {
        return PolicyCompiler.schedule(document, PlatformRules.NONE, CountryRanges.NONE, NOW, 64, NOW.plus(Duration.ofDays(7)));
    }
}
