package dev.clawfence.policy.compile;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/** Conversions between numbers, texts and addresses that the compiler needs; all arithmetic is inet.ipaddr's. */
final class Addresses {

    static final BigInteger MAX_V4 = BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE);
    static final BigInteger MAX_V6 = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    private Addresses() {}

    static IPAddress address(IpFamily family, BigInteger value) {
        return family == IpFamily.IPV4 ? new IPv4Address(value.intValue()) : new IPv6Address(value);
    }

    static BigInteger max(IpFamily family) {
        return family == IpFamily.IPV4 ? MAX_V4 : MAX_V6;
    }

    /** Parses a canonical CIDR as the policy and {@link dev.clawfence.policy.CidrMerger} produce it. */
    static IPAddress block(String canonicalCidr) {
        IPAddress address = new IPAddressString(canonicalCidr).getAddress();
        if (address == null) {
            throw new IllegalArgumentException("\"" + canonicalCidr + "\" is not a CIDR");
        }
        return address.toPrefixBlock();
    }

    /** Canonical CIDRs (already merged) as ranges of one family, in order. */
    static List<AddressRange> ranges(List<String> canonicalCidrs, IpFamily family) {
        List<AddressRange> ranges = new ArrayList<>();
        for (String cidr : canonicalCidrs) {
            IPAddress block = block(cidr);
            if ((family == IpFamily.IPV4) == block.isIPv4()) {
                ranges.add(AddressRange.ofBlock(block));
            }
        }
        ranges.sort(null);
        return List.copyOf(ranges);
    }
}
