import dev.clawfence.controlplane.agents.CompiledPolicyWire;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import java.time.Duration;
import java.time.Instant;
import java.util.*;

/**
 * What PolicyDistribution sends for the ScheduleBenchmark policy (10,000 entries, every 100th expiring, an
 * hour apart): steps that fit in 3 MiB, bytes, and the time it takes, against compiling without a
 * schedule. Not part of the build; BENCHMARKS.md has the command.
 */
public class ScheduleWireSize {
    @SuppressWarnings("unchecked")
    public static void main(String[] args) {
        Instant now = Instant.parse("2026-11-24T10:00:00Z");
        Map<String, Object> tree = new LinkedHashMap<>(new Workload(1).policyTree());
        Map<String, Object> inbound = new LinkedHashMap<>((Map<String, Object>) tree.get("inbound"));
        List<Object> allowlist = new ArrayList<>();
        List<Object> entries = (List<Object>) inbound.get("allowlist");
        for (int i = 0; i < entries.size(); i++) {
            Map<String, Object> entry = new LinkedHashMap<>((Map<String, Object>) entries.get(i));
            if (i % 100 == 0) entry.put("expiresAt", now.plus(Duration.ofHours(1 + i / 100)).toString());
            allowlist.add(entry);
        }
        inbound.put("allowlist", allowlist);
        tree.put("inbound", inbound);
        PolicyDocument document = PolicyValidator.validate(tree, now).value();
        for (int run = 0; run < 5; run++) {
            long t0 = System.nanoTime();
            var main = PolicyCompiler.compile(document, PlatformRules.NONE, CountryRanges.NONE, now);
            var plain = CompiledPolicyWire.toWire(main);
            long t1 = System.nanoTime();
            var wire = CompiledPolicyWire.toWire(main, PolicyCompiler.upcoming(document, PlatformRules.NONE, CountryRanges.NONE, now,
                    now.plus(Duration.ofDays(7))).limit(64), 3L << 20);
            long t2 = System.nanoTime();
            long plainBytes = plain.policy().getSerializedSize() + plain.sets().stream().mapToLong(s -> s.getSerializedSize()).sum();
            long bytes = wire.policy().getSerializedSize() + wire.scheduled().stream().mapToLong(s -> s.getSerializedSize()).sum()
                    + wire.sets().stream().mapToLong(s -> s.getSerializedSize()).sum();
            System.out.printf("run %d: compile+wire %d ms (%d bytes); with schedule: +%d ms, %d steps, %d bytes%n", run,
                    (t1 - t0) / 1_000_000, plainBytes, (t2 - t1) / 1_000_000, wire.scheduled().size(), bytes);
        }
    }
}
