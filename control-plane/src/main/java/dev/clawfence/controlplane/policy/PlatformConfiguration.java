package dev.clawfence.controlplane.policy;

import dev.clawfence.policy.PlatformRules;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.util.List;

/**
 * The platform rules that precede every tenant's policy ({@code clawfence.platform.*}): management
 * ranges (inbound), control-plane endpoints and DNS resolvers (outbound). Empty by default.
 */
@ConfigurationProperties("clawfence.platform")
public record PlatformConfiguration(
        @Nullable List<String> managementRanges,
        @Nullable List<String> controlPlaneEndpoints,
        @Nullable List<String> dnsResolvers) {

    public PlatformRules rules() {
        return new PlatformRules(
                managementRanges == null ? List.of() : managementRanges,
                controlPlaneEndpoints == null ? List.of() : controlPlaneEndpoints,
                dnsResolvers == null ? List.of() : dnsResolvers);
    }
}
