package dev.clawfence.policy;

import java.util.List;

/** The inbound country rule: {@code countries} are upper-case ISO-3166 alpha-2 codes, sorted, distinct. */
public record Geo(GeoMode mode, List<String> countries) {

    public static final Geo NONE = new Geo(GeoMode.NONE, List.of());

    public Geo {
        countries = List.copyOf(countries);
    }
}
