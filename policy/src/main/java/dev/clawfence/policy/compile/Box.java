package dev.clawfence.policy.compile;

import dev.clawfence.policy.PortSpec;
import java.util.Comparator;

/**
 * One element of an allowlist or destination set: every address of {@code addresses} on every port of
 * {@code ports} (one protocol). The boxes of one set never overlap, because nftables rejects
 * overlapping elements in interval sets.
 */
public record Box(AddressRange addresses, PortSpec ports) implements Comparable<Box> {

    private static final Comparator<Box> ORDER = Comparator.comparing(Box::addresses)
            .thenComparing(box -> box.ports().proto())
            .thenComparingInt(box -> box.ports().port());

    public Box {
        if (addresses == null || ports == null) {
            throw new IllegalArgumentException("a box needs addresses and ports");
        }
    }

    /** The canonical text, e.g. {@code 192.0.2.0/24 tcp/443}. */
    @Override
    public String toString() {
        return addresses + " " + ports;
    }

    @Override
    public int compareTo(Box other) {
        return ORDER.compare(this, other);
    }
}
