package dev.clawfence.policy.compile;

import dev.clawfence.policy.PortSpec;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.TreeSet;

/**
 * Cuts the address space of one family at every entry boundary into elementary intervals (each covered
 * by exactly the same entries throughout, as {@code PrefixIndex} does for the evaluator) and gives each
 * covered interval the union of its entries' ports; adjacent intervals with equal ports are joined.
 * Entries are prefix blocks, so two of them are nested or disjoint and the entries covering a point form
 * a chain: one sweep with a stack, where each stack frame holds the union of its own ports and all
 * enclosing entries' ports.
 */
final class AddressSweep {

    /** One entry: a prefix block and the ports it opens (merged; may be empty). */
    record Entry(AddressRange block, List<PortSpec> ports) {}

    private record Frame(BigInteger last, List<PortSpec> ports) {}

    private AddressSweep() {}

    /** The disjoint boxes of {@code entries}, all of {@code family}, sorted. */
    static List<Box> boxes(IpFamily family, List<Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparing((Entry e) -> e.block().firstValue()).thenComparing(e -> e.block().lastValue(), Comparator.reverseOrder()));
        BigInteger max = Addresses.max(family);
        TreeSet<BigInteger> cuts = new TreeSet<>();
        for (Entry entry : sorted) {
            cuts.add(entry.block().firstValue());
            if (entry.block().lastValue().compareTo(max) < 0) {
                cuts.add(entry.block().lastValue().add(BigInteger.ONE));
            }
        }
        BigInteger[] starts = cuts.toArray(BigInteger[]::new);
        List<BigInteger[]> ranges = new ArrayList<>();
        List<List<PortSpec>> ports = new ArrayList<>();
        Deque<Frame> stack = new ArrayDeque<>();
        int next = 0;
        for (int i = 0; i < starts.length; i++) {
            BigInteger start = starts[i];
            while (!stack.isEmpty() && stack.peek().last().compareTo(start) < 0) {
                stack.pop();
            }
            while (next < sorted.size() && sorted.get(next).block().firstValue().equals(start)) {
                Entry entry = sorted.get(next++);
                List<PortSpec> below = stack.isEmpty() ? List.of() : stack.peek().ports();
                stack.push(new Frame(entry.block().lastValue(), PortRanges.union(below, entry.ports())));
            }
            if (stack.isEmpty() || stack.peek().ports().isEmpty()) {
                continue;
            }
            BigInteger end = i + 1 < starts.length ? starts[i + 1].subtract(BigInteger.ONE) : max;
            List<PortSpec> here = stack.peek().ports();
            int last = ranges.size() - 1;
            if (last >= 0 && ranges.get(last)[1].add(BigInteger.ONE).equals(start) && ports.get(last).equals(here)) {
                ranges.get(last)[1] = end;
            } else {
                ranges.add(new BigInteger[] {start, end});
                ports.add(here);
            }
        }
        List<Box> boxes = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) {
            AddressRange range = AddressRange.of(family, ranges.get(i)[0], ranges.get(i)[1]);
            for (PortSpec spec : ports.get(i)) {
                boxes.add(new Box(range, spec));
            }
        }
        return List.copyOf(boxes);
    }
}
