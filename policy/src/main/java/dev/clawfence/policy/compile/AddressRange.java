package dev.clawfence.policy.compile;

import inet.ipaddr.IPAddress;
import java.math.BigInteger;
import java.util.Comparator;

/**
 * An inclusive range of addresses of one family, {@code first <= last}. Its text is a canonical CIDR
 * ({@code 192.0.2.0/24}, single addresses as {@code /32} or {@code /128}) when the range is exactly one
 * prefix block, otherwise {@code first-last} ({@code 192.0.2.1-192.0.2.9}); both forms are nft syntax.
 */
public record AddressRange(IPAddress first, IPAddress last) implements Comparable<AddressRange> {

    private static final Comparator<AddressRange> ORDER = Comparator
            .comparing(AddressRange::family)
            .thenComparing(AddressRange::first)
            .thenComparing(AddressRange::last);

    public AddressRange {
        if (first == null || last == null || first.isIPv4() != last.isIPv4() || first.isMultiple() || last.isMultiple()) {
            throw new IllegalArgumentException("an address range needs two single addresses of one family");
        }
        first = first.withoutPrefixLength();
        last = last.withoutPrefixLength();
        if (first.getValue().compareTo(last.getValue()) > 0) {
            throw new IllegalArgumentException("an address range must not end before it starts: " + first + "-" + last);
        }
    }

    /** The range of a prefix block such as a parsed {@code 192.0.2.0/24}. */
    public static AddressRange ofBlock(IPAddress block) {
        return new AddressRange(block.getLower().withoutPrefixLength(), block.getUpper().withoutPrefixLength());
    }

    static AddressRange of(IpFamily family, BigInteger first, BigInteger last) {
        return new AddressRange(Addresses.address(family, first), Addresses.address(family, last));
    }

    public IpFamily family() {
        return first.isIPv4() ? IpFamily.IPV4 : IpFamily.IPV6;
    }

    BigInteger firstValue() {
        return first.getValue();
    }

    BigInteger lastValue() {
        return last.getValue();
    }

    /** The canonical text: a CIDR when the range is one prefix block, else {@code first-last}. */
    @Override
    public String toString() {
        // One prefix block exactly when the size is a power of two and the start is aligned to it.
        BigInteger start = first.getValue();
        BigInteger size = last.getValue().subtract(start).add(BigInteger.ONE);
        int hostBits = size.bitLength() - 1;
        if (size.bitCount() == 1 && (start.signum() == 0 || start.getLowestSetBit() >= hostBits)) {
            return first.toCanonicalString() + "/" + (first.getBitCount() - hostBits);
        }
        return first.toCanonicalString() + "-" + last.toCanonicalString();
    }

    @Override
    public int compareTo(AddressRange other) {
        return ORDER.compare(this, other);
    }
}
