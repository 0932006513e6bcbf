package dev.clawfence.policy.compile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Geo;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Provenance;
import dev.clawfence.policy.render.NftRenderer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The largest allowlist the validator accepts and a large country list compile and
 * render in seconds (printed; bounded generously so a slow CI machine does not flake).
 */
class LargeCompileTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    @Test
    void theLargestAllowlistAndABigCountryCompileQuickly() {
        List<AllowlistEntry> entries = new ArrayList<>();
        String[] v4 = {"192.0.2.", "198.51.100.", "203.0.113."};
        for (int i = 0; i < PolicyValidator.MAX_ALLOWLIST_ENTRIES; i++) {
            // Documentation addresses only: nested and disjoint IPv4 blocks, and many IPv6 /64s and /48s.
            String cidr = i < 768
                    ? v4[i / 256] + (i % 256 & (i % 3 == 0 ? 0xfc : 0xff)) + (i % 3 == 0 ? "/30" : "/32")
                    : i % 10 == 0 ? String.format("2001:db8:%x::/48", i % 65536) : String.format("2001:db8:%x:%x::/64", i % 65536, i / 7);
            List<PortSpec> ports = i % 3 == 0 ? List.of() : List.of(PortSpec.tcp(443 + (i % 4)));
            entries.add(new AllowlistEntry("in-" + i, cidr, ports, "d", "r", i % 11 == 0 ? NOW.plus(Duration.ofDays(1 + i % 30)) : null, Provenance.NONE));
        }
        List<String> country = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            // Every other /56 of 2001:db8::/32, so that nothing merges (200,000 took 18 s on 2 cores: keep the test short).
            country.add(String.format("2001:db8:%x:%x00::/56", i >> 7, (i & 127) << 1));
        }
        PolicyDocument policy = PolicyDocument.defaultPolicy().withMode(new Modes(Mode.ENFORCE, Mode.OFF))
                .withInbound(new Inbound(entries, List.of(new PortRule("p", PortSpec.tcp(443), "d", null, Provenance.NONE)), new Geo(GeoMode.BLOCK, List.of("US"))));
        long start = System.nanoTime();
        CompiledPolicy compiled = PolicyCompiler.compile(policy, PlatformRules.NONE, CountryRanges.of(Map.of("US", country)), NOW);
        long compiled_ = System.nanoTime();
        String text = NftRenderer.render(compiled);
        long rendered = System.nanoTime();
        System.out.printf("compile %d ms, render %d ms, %d + %d boxes, %d geo6, %d chars%n", (compiled_ - start) / 1_000_000, (rendered - compiled_) / 1_000_000,
                compiled.inbound().allow4().elements().size(), compiled.inbound().allow6().elements().size(), compiled.inbound().geo6().elements().size(), text.length());
        assertThat(compiled.inbound().allow4().elements()).isNotEmpty();
        assertThat(compiled.inbound().geo6().elements()).hasSize(50_000);
        assertThat(Duration.ofNanos(rendered - start)).isLessThan(Duration.ofSeconds(20));
    }
}
