package dev.clawfence.policy.compile;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The address blocks of each country: upper-case ISO-3166 alpha-2 code to CIDR texts (IPv4 and IPv6
 * mixed, overlaps allowed). The control plane backs this with GeoIP data; an unknown code has no blocks.
 */
@FunctionalInterface
public interface CountryRanges {

    /** No country has any address: geo {@code block} blocks nobody and {@code allow} blocks everybody. */
    CountryRanges NONE = country -> List.of();

    /** The CIDRs of {@code countryCode}, an empty list when none are known; never null. */
    List<String> cidrs(String countryCode);

    /** Ranges from a fixed map (tests, small deployments); the map is copied. */
    static CountryRanges of(Map<String, List<String>> byCountry) {
        Map<String, List<String>> copy = new TreeMap<>();
        byCountry.forEach((country, cidrs) -> copy.put(country, List.copyOf(cidrs)));
        return country -> copy.getOrDefault(country, List.of());
    }
}
