package dev.clawfence.policy;

import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.util.Objects;

/**
 * One end of a connection: an IP address, or (outbound destinations only) a host name. Parsed once,
 * with the address also kept as an unsigned 128-bit number so that evaluation does no parsing.
 */
public final class Host {

    private final String text;
    private final String domain;
    private final long high;
    private final long low;
    /** 4, 6, or 0 for a name: kept here so that evaluation never touches the IPAddress object. */
    private final int family;

    private Host(String text, IPAddress address, String domain) {
        // The IPAddress itself is not kept: it is a graph of a dozen objects, and a connection that
        // holds only its numbers stays within a cache line or two while it is evaluated.
        this.text = text;
        this.domain = domain;
        this.high = address == null ? 0 : AddressSyntax.high(address);
        this.low = address == null ? 0 : AddressSyntax.low(address);
        this.family = address == null ? 0 : address.isIPv4() ? 4 : 6;
    }

    static Host ofAddress(IPAddress address) {
        return new Host(address.withoutPrefixLength().toCanonicalString(), address.withoutPrefixLength(), null);
    }

    static Host ofDomain(String normalisedDomain) {
        return new Host(normalisedDomain, null, normalisedDomain);
    }

    /** The address (rebuilt from its numbers on each call), or null when this end is a host name. */
    public IPAddress address() {
        if (family == 4) {
            return new IPv4Address((int) low);
        }
        return family == 6 ? new IPv6Address(high, low) : null;
    }

    /** The lower-case ASCII host name, or null when this end is an address. */
    public String domain() {
        return domain;
    }

    public boolean isDomain() {
        return family == 0;
    }

    public boolean isIPv4() {
        return family == 4;
    }

    public boolean isIPv6() {
        return family == 6;
    }

    long high() {
        return high;
    }

    long low() {
        return low;
    }

    /** The canonical text: what {@link ConnectionReader} reads back to an equal host. */
    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Host host && host.text.equals(text);
    }

    @Override
    public int hashCode() {
        return Objects.hash(text);
    }
}
