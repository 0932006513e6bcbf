package dev.clawfence.policy;

import java.util.List;

/**
 * The rules that come before every tenant policy and that tenants cannot edit (DESIGN.md step 1 of
 * both decisions): management ranges (inbound), control-plane endpoints and DNS resolvers (outbound).
 * Loopback is always accepted and needs no entry here.
 */
public record PlatformRules(List<String> managementRanges, List<String> controlPlaneEndpoints, List<String> dnsResolvers) {

    public static final PlatformRules NONE = new PlatformRules(List.of(), List.of(), List.of());
}
