package dev.clawfence.policy;

import java.net.IDN;
import java.util.Locale;

/**
 * Reads host names as a policy stores them: the ASCII form of an internationalised name (punycode via
 * {@link IDN}), lower-case, without a trailing dot; labels of letters, digits and inner hyphens, 1-63
 * characters each, 253 in all. A wildcard is allowed only as a whole leftmost label ({@code *.example.com}).
 */
final class DomainName {

    static final int MAX_LENGTH = 253;
    static final int MAX_LABEL = 63;
    /** Texts longer than this are rejected before any domain check, as plain over-long input. */
    static final int MAX_INPUT = 1000;

    /** The normalised name, or why the text is not a host name. */
    record Parsed(String value, String error) {}

    private DomainName() {}

    static Parsed parse(String text, boolean wildcardAllowed) {
        String name = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
        boolean wildcard = name.startsWith("*.");
        if (wildcard) {
            if (!wildcardAllowed) {
                return fail(text, "wildcards are not allowed here");
            }
            name = name.substring(2);
        }
        if (name.indexOf('*') >= 0) {
            return fail(text, "\"*\" is allowed only as the whole leftmost label, as in \"*.example.com\"");
        }
        if (name.indexOf('_') >= 0) {
            return fail(text, "host names cannot contain \"_\"");
        }
        if (name.length() > MAX_LENGTH) {
            return fail(text, "a name is at most " + MAX_LENGTH + " characters");
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > MAX_LABEL) {
                return fail(text, "each label between dots must be 1-" + MAX_LABEL + " characters");
            }
        }
        String ascii;
        try {
            ascii = IDN.toASCII(name, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return fail(text, "not a valid internationalised name");
        }
        if (ascii.isEmpty()) {
            return fail(text, "the name is empty");
        }
        String[] labels = ascii.split("\\.", -1);
        if (labels.length < 2) {
            return fail(text, "a destination needs a full name such as \"example.com\"");
        }
        for (String label : labels) {
            if (label.isEmpty() || label.length() > MAX_LABEL) {
                return fail(text, "each label between dots must be 1-" + MAX_LABEL + " characters");
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < label.length() - 1);
                if (!ok) {
                    return fail(text, "labels hold letters, digits and inner hyphens only");
                }
            }
        }
        if (labels[labels.length - 1].chars().allMatch(Character::isDigit)) {
            return fail(text, "the last label cannot be all digits (write addresses in \"cidr\")");
        }
        String result = (wildcard ? "*." : "") + ascii;
        if (result.length() > MAX_LENGTH) {
            return fail(text, "a name is at most " + MAX_LENGTH + " characters");
        }
        return new Parsed(result, null);
    }

    private static Parsed fail(String text, String why) {
        return new Parsed(null, AddressSyntax.quote(text) + " is not a valid domain name (" + why + ")");
    }
}
