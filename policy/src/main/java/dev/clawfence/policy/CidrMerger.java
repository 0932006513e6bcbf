package dev.clawfence.policy;

import inet.ipaddr.IPAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns lists of addresses and CIDRs into the fewest CIDRs: {@link #merge} covers exactly the given
 * addresses (adjacent and overlapping ranges joined, e.g. 10.0.0.0 to 10.0.0.255 as single addresses
 * becomes {@code 10.0.0.0/24}, while 10.0.0.1 to 10.0.0.254 stays 14 blocks), and {@link #cover}
 * suggests the one smallest block per address family that contains them all (covering more than was
 * given). Both use inet.ipaddr's merge and span arithmetic; output is canonical and sorted, IPv4 first.
 */
public final class CidrMerger {

    private CidrMerger() {}

    /**
     * The fewest prefix blocks covering exactly the given addresses and CIDRs.
     *
     * @throws IllegalArgumentException naming the first text that is not an address or CIDR
     */
    public static List<String> merge(List<String> addressesAndCidrs) {
        List<IPAddress> v4 = new ArrayList<>();
        List<IPAddress> v6 = new ArrayList<>();
        split(addressesAndCidrs, v4, v6);
        List<String> result = new ArrayList<>();
        for (List<IPAddress> family : List.of(v4, v6)) {
            if (!family.isEmpty()) {
                IPAddress first = family.get(0);
                for (IPAddress block : first.mergeToPrefixBlocks(family.toArray(IPAddress[]::new))) {
                    result.add(AddressSyntax.canonical(block));
                }
            }
        }
        return result;
    }

    /** The smallest single prefix block per family containing every given address and CIDR. */
    public static List<String> cover(List<String> addressesAndCidrs) {
        List<IPAddress> v4 = new ArrayList<>();
        List<IPAddress> v6 = new ArrayList<>();
        split(addressesAndCidrs, v4, v6);
        List<String> result = new ArrayList<>();
        for (List<IPAddress> family : List.of(v4, v6)) {
            if (!family.isEmpty()) {
                IPAddress lowest = family.get(0).getLower();
                IPAddress highest = family.get(0).getUpper();
                for (IPAddress block : family) {
                    if (block.getLower().compareTo(lowest) < 0) {
                        lowest = block.getLower();
                    }
                    if (block.getUpper().compareTo(highest) > 0) {
                        highest = block.getUpper();
                    }
                }
                IPAddress covering = lowest.withoutPrefixLength().spanWithRange(highest.withoutPrefixLength()).coverWithPrefixBlock();
                result.add(AddressSyntax.canonical(covering));
            }
        }
        return result;
    }

    private static void split(List<String> texts, List<IPAddress> v4, List<IPAddress> v6) {
        for (String text : texts) {
            AddressSyntax.ParsedCidr parsed = text == null ? new AddressSyntax.ParsedCidr(null, "null is not an address") : AddressSyntax.cidr(text);
            if (!parsed.isValid()) {
                throw new IllegalArgumentException(parsed.error());
            }
            (parsed.value().ipv4() ? v4 : v6).add(parsed.value().block());
        }
    }
}
