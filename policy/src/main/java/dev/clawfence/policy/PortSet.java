package dev.clawfence.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The ports a rule or a direction opens, per protocol, as sorted, merged, disjoint ranges: lookups are
 * a binary search over a few ints. ICMP is not a port protocol and is never "in" a port set; callers
 * skip port checks for it.
 */
final class PortSet {

    private final int[] tcpStarts;
    private final int[] tcpEnds;
    private final int[] udpStarts;
    private final int[] udpEnds;

    private PortSet(int[][] tcp, int[][] udp) {
        this.tcpStarts = tcp[0];
        this.tcpEnds = tcp[1];
        this.udpStarts = udp[0];
        this.udpEnds = udp[1];
    }

    static PortSet of(List<PortSpec> specs) {
        return new PortSet(merged(specs, Protocol.TCP), merged(specs, Protocol.UDP));
    }

    static PortSet ofRules(List<PortRule> rules) {
        return of(rules.stream().map(PortRule::spec).toList());
    }

    private static int[][] merged(List<PortSpec> specs, Protocol proto) {
        List<PortSpec> mine = new ArrayList<>();
        for (PortSpec spec : specs) {
            if (spec.proto() == proto) {
                mine.add(spec);
            }
        }
        mine.sort(Comparator.comparingInt(PortSpec::port));
        int[] starts = new int[mine.size()];
        int[] ends = new int[mine.size()];
        int n = 0;
        for (PortSpec spec : mine) {
            if (n > 0 && spec.port() <= ends[n - 1] + 1) {
                ends[n - 1] = Math.max(ends[n - 1], spec.last());
            } else {
                starts[n] = spec.port();
                ends[n] = spec.last();
                n++;
            }
        }
        return new int[][] {Arrays.copyOf(starts, n), Arrays.copyOf(ends, n)};
    }

    boolean isEmpty() {
        return tcpStarts.length == 0 && udpStarts.length == 0;
    }

    boolean contains(Protocol proto, int port) {
        return switch (proto) {
            case TCP -> contains(tcpStarts, tcpEnds, port);
            case UDP -> contains(udpStarts, udpEnds, port);
            case ICMP -> false;
        };
    }

    /** Whether every port of {@code other} is in this set. */
    boolean containsAll(PortSet other) {
        return containsAll(tcpStarts, tcpEnds, other.tcpStarts, other.tcpEnds)
                && containsAll(udpStarts, udpEnds, other.udpStarts, other.udpEnds);
    }

    private static boolean contains(int[] starts, int[] ends, int port) {
        int i = Arrays.binarySearch(starts, port);
        if (i >= 0) {
            return true;
        }
        int before = -i - 2;
        return before >= 0 && port <= ends[before];
    }

    private static boolean containsAll(int[] starts, int[] ends, int[] otherStarts, int[] otherEnds) {
        for (int k = 0; k < otherStarts.length; k++) {
            int i = Arrays.binarySearch(starts, otherStarts[k]);
            int at = i >= 0 ? i : -i - 2;
            if (at < 0 || otherEnds[k] > ends[at]) {
                return false;
            }
        }
        return true;
    }

    /** The form used in explanations: {@code tcp/443, udp/1000-2000}, or {@code no port}. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        append(parts, "tcp", tcpStarts, tcpEnds);
        append(parts, "udp", udpStarts, udpEnds);
        return parts.isEmpty() ? "no port" : String.join(", ", parts);
    }

    private static void append(List<String> parts, String proto, int[] starts, int[] ends) {
        for (int i = 0; i < starts.length; i++) {
            parts.add(proto + "/" + starts[i] + (ends[i] == starts[i] ? "" : "-" + ends[i]));
        }
    }
}
