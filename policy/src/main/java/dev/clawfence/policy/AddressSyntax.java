package dev.clawfence.policy;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv4.IPv4Address;

/**
 * Strict reading of IP addresses and CIDRs as people write them in a policy. inet.ipaddr accepts much
 * more than a policy should (octal {@code 010.0.0.1}, {@code inet_aton} shorthands like {@code 10.1},
 * ranges, wildcards, masks, zones), so the text is checked against the plain dotted-quad and
 * hexadecimal-colon forms first and only then handed to inet.ipaddr for the arithmetic.
 */
final class AddressSyntax {


    /** A parsed value, or the sentence that says why the text is not one (quoting the text). */
    record Parsed(IPAddress value, String error) {

        static Parsed ok(IPAddress value) {
            return new Parsed(value, null);
        }

        static Parsed fail(String error) {
            return new Parsed(null, error);
        }

        boolean isValid() {
            return value != null;
        }
    }

    private AddressSyntax() {}

    /** Reads one address without a prefix length (a connection end). */
    static Parsed address(String text) {
        if (text.indexOf('/') >= 0) {
            return Parsed.fail(quote(text) + " is a range: a connection has one address, e.g. " + quote(text.substring(0, text.indexOf('/'))));
        }
        Parsed parsed = plainAddress(text, "IP address");
        if (!parsed.isValid()) {
            return parsed;
        }
        IPAddress address = parsed.value();
        if (address.isIPv6() && address.toIPv6().isIPv4Mapped()) {
            return Parsed.fail(quote(text) + " is an IPv4-mapped IPv6 address: write it as IPv4, "
                    + quote(address.toIPv6().getEmbeddedIPv4Address().toCanonicalString()));
        }
        return parsed;
    }

    /**
     * A prefix block as numbers: the network address (host bits zero, no prefix length attached),
     * the prefix length, and its first and last address as unsigned 128-bit numbers (IPv4 in the low
     * long). Computed once when read, so that overlap checks and index building do no further
     * address arithmetic.
     */
    record Cidr(IPAddress address, int prefix, long firstHigh, long firstLow, long lastHigh, long lastLow) {

        boolean ipv4() {
            return address.isIPv4();
        }

        /** The block as an inet.ipaddr prefix block, for its merge and span arithmetic. */
        IPAddress block() {
            return address.toPrefixBlock(prefix);
        }

        /** The canonical text: lower-case, IPv6 compressed, always with a prefix length. */
        String canonical() {
            return (ipv4() ? dotted(firstLow) : address.toCanonicalString()) + "/" + prefix;
        }
    }

    /** A parsed CIDR, or the sentence that says why the text is not one. */
    record ParsedCidr(Cidr value, String error) {

        boolean isValid() {
            return value != null;
        }
    }

    /**
     * Reads a CIDR or a single address (a single address is a /32 or /128 block). Host bits set,
     * IPv4-mapped IPv6 and prefix lengths of the wrong family are errors that say what was probably
     * meant.
     */
    static ParsedCidr cidr(String text) {
        int slash = text.indexOf('/');
        String addressPart = slash < 0 ? text : text.substring(0, slash);
        Parsed parsed = plainAddress(addressPart, "CIDR");
        if (!parsed.isValid()) {
            return new ParsedCidr(null, slash < 0 ? parsed.error() : quote(text) + " is not a valid CIDR (" + quote(addressPart) + " is not an IP address)");
        }
        IPAddress address = parsed.value();
        int bits = address.getBitCount();
        int prefix = bits;
        if (slash >= 0) {
            String prefixPart = text.substring(slash + 1);
            if (prefixPart.isEmpty() || prefixPart.length() > 3 || !prefixPart.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return new ParsedCidr(null, quote(text) + " is not a valid CIDR (the prefix length after \"/\" must be a number "
                        + (address.isIPv4() ? "0-32" : "0-128") + ")");
            }
            prefix = Integer.parseInt(prefixPart);
            if (prefix > bits) {
                String family = address.isIPv4() ? "IPv4" : "IPv6";
                String hint = address.isIPv4() && prefix >= 48 && prefix <= 128 ? "; /" + prefix + " is an IPv6 prefix length" : "";
                return new ParsedCidr(null, quote(text) + " is not a valid CIDR (prefix must be 0-" + bits + " for " + family + hint + ")");
            }
        }
        long high = high(address);
        long low = low(address);
        if (!address.isIPv4() && prefix >= 96 && high == 0 && (low >>> 32) == 0xFFFFL) {
            return new ParsedCidr(null, quote(text) + " is an IPv4-mapped IPv6 address: write it as IPv4, "
                    + quote(dotted(low & 0xFFFFFFFFL & hostMaskComplement(32 - (prefix - 96))) + "/" + (prefix - 96)));
        }
        int hostBits = bits - prefix;
        long maskHigh = 0;
        long maskLow = 0;
        if (hostBits > 0 && hostBits < 64) {
            maskLow = -1L >>> (64 - hostBits);
        } else if (hostBits >= 64) {
            maskLow = -1L;
            maskHigh = hostBits == 64 ? 0 : -1L >>> (128 - hostBits);
        }
        if ((high & maskHigh) != 0 || (low & maskLow) != 0) {
            return new ParsedCidr(null, quote(text) + " has host bits set: did you mean " + quote(canonical(address.toPrefixBlock(prefix))) + "?");
        }
        long lastHigh = high | maskHigh;
        long lastLow = low | maskLow;
        return new ParsedCidr(new Cidr(address, prefix, high, low, lastHigh, lastLow), null);
    }

    private static long hostMaskComplement(int hostBits) {
        return hostBits == 0 ? -1L : ~(-1L >>> (64 - hostBits));
    }

    private static String dotted(long value) {
        return ((value >>> 24) & 255) + "." + ((value >>> 16) & 255) + "." + ((value >>> 8) & 255) + "." + (value & 255);
    }

    /** The canonical text of an inet.ipaddr prefix block (see {@link Cidr#canonical()}). */
    static String canonical(IPAddress block) {
        IPAddress lower = block.getLower().withoutPrefixLength();
        int prefix = block.getNetworkPrefixLength() == null ? block.getBitCount() : block.getNetworkPrefixLength();
        return lower.toCanonicalString() + "/" + prefix;
    }

    private static Parsed plainAddress(String text, String what) {
        int[] octets = dottedQuad(text);
        if (octets != null) {
            for (int i = 0; i < 4; i++) {
                if (octets[i] < 0) {
                    return Parsed.fail(quote(text) + " is not a valid " + what + " (leading zeros are ambiguous: write "
                            + quote(withoutLeadingZeros(text)) + ")");
                }
            }
            for (int i = 0; i < 4; i++) {
                if (octets[i] > 255) {
                    return Parsed.fail(quote(text) + " is not a valid " + what + " (each IPv4 number must be 0-255)");
                }
            }
            return Parsed.ok(new IPv4Address(new byte[] {(byte) octets[0], (byte) octets[1], (byte) octets[2], (byte) octets[3]}));
        }
        if (text.indexOf('%') >= 0) {
            return Parsed.fail(quote(text) + " is not a valid " + what + " (zone indexes such as %eth0 are not allowed)");
        }
        if (text.indexOf(':') >= 0 && onlyIpv6Characters(text)) {
            IPAddressString string = new IPAddressString(text);
            IPAddress address = string.getAddress();
            if (address != null && address.isIPv6() && !address.isMultiple()) {
                return Parsed.ok(address);
            }
        }
        return Parsed.fail(quote(text) + " is not a valid " + what);
    }

    /**
     * The four numbers of {@code d.d.d.d} (1-3 digits each), with -1 for a number written with a
     * leading zero; null when the text is not of that form. Hand-written rather than a regular
     * expression because validation reads tens of thousands of these.
     */
    private static int[] dottedQuad(String text) {
        int[] octets = new int[4];
        int part = 0;
        int digits = 0;
        int value = 0;
        boolean leadingZero = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                if (digits == 3) {
                    return null;
                }
                leadingZero |= digits == 1 && value == 0;
                value = value * 10 + (c - '0');
                digits++;
            } else if (c == '.' && digits > 0 && part < 3) {
                octets[part++] = leadingZero ? -1 : value;
                digits = 0;
                value = 0;
                leadingZero = false;
            } else {
                return null;
            }
        }
        if (part != 3 || digits == 0) {
            return null;
        }
        octets[3] = leadingZero ? -1 : value;
        return octets;
    }

    private static boolean onlyIpv6Characters(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static String withoutLeadingZeros(String quad) {
        StringBuilder text = new StringBuilder();
        for (String number : quad.split("\\.")) {
            text.append(text.isEmpty() ? "" : ".").append(Integer.parseInt(number));
        }
        return text.toString();
    }

    /** Puts user text in quotes for a message; callers have already rejected control characters. */
    static String quote(String text) {
        return "\"" + text + "\"";
    }

    /** The address as an unsigned 128-bit number split in two longs; IPv4 fills only the low long. */
    static long high(IPAddress address) {
        if (address.isIPv4()) {
            return 0L;
        }
        byte[] bytes = address.getBytes();
        return toLong(bytes, 0);
    }

    static long low(IPAddress address) {
        if (address.isIPv4()) {
            return address.toIPv4().longValue();
        }
        byte[] bytes = address.getBytes();
        return toLong(bytes, 8);
    }

    private static long toLong(byte[] bytes, int from) {
        long value = 0;
        for (int i = from; i < from + 8; i++) {
            value = (value << 8) | (bytes[i] & 0xFF);
        }
        return value;
    }
}
