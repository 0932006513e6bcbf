package dev.clawfence.policy;

import java.util.Locale;
import java.util.Set;

/** ISO-3166 alpha-2 country codes as the JDK knows them; input is upper-cased before checking. */
final class CountryCode {

    private static final Set<String> KNOWN = Set.of(Locale.getISOCountries());

    private CountryCode() {}

    /** The upper-case code, or null after recording why {@code value} is not a country code. */
    static String read(TreeReader reader, Object value, String path) {
        String text = reader.text(value, path, 10);
        if (text == null) {
            return null;
        }
        String code = text.toUpperCase(Locale.ROOT);
        if (!KNOWN.contains(code)) {
            reader.error(path, AddressSyntax.quote(text) + " is not an ISO-3166 alpha-2 country code such as \"DE\" or \"US\"");
            return null;
        }
        return code;
    }
}
