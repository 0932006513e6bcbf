package dev.clawfence.policy.compile;

import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Port lists as sorted, merged, disjoint ranges: tcp before udp, ascending, adjacent ranges joined. */
final class PortRanges {

    /** Every port of both protocols: what an allowlist entry without ports covers. */
    static final List<PortSpec> ALL = List.of(new PortSpec(Protocol.TCP, 1, 65535), new PortSpec(Protocol.UDP, 1, 65535));

    private static final Comparator<PortSpec> ORDER = Comparator.comparing(PortSpec::proto).thenComparingInt(PortSpec::port).thenComparingInt(PortSpec::last);

    private PortRanges() {}

    /** The union of {@code specs}, merged. */
    static List<PortSpec> merge(List<PortSpec> specs) {
        List<PortSpec> sorted = new ArrayList<>(specs);
        sorted.sort(ORDER);
        List<PortSpec> merged = new ArrayList<>();
        Protocol proto = null;
        int start = 0;
        int end = 0;
        for (PortSpec spec : sorted) {
            if (proto == spec.proto() && spec.port() <= end + 1) {
                end = Math.max(end, spec.last());
                continue;
            }
            if (proto != null) {
                merged.add(range(proto, start, end));
            }
            proto = spec.proto();
            start = spec.port();
            end = spec.last();
        }
        if (proto != null) {
            merged.add(range(proto, start, end));
        }
        return List.copyOf(merged);
    }

    /** The union of two merged lists. */
    static List<PortSpec> union(List<PortSpec> a, List<PortSpec> b) {
        if (a.isEmpty()) {
            return b;
        }
        if (b.isEmpty() || a.equals(b)) {
            return a;
        }
        List<PortSpec> both = new ArrayList<>(a);
        both.addAll(b);
        return merge(both);
    }

    private static PortSpec range(Protocol proto, int start, int end) {
        return new PortSpec(proto, start, end == start ? null : end);
    }
}
