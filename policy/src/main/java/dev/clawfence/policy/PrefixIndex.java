package dev.clawfence.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A lookup from an address to every prefix block that contains it, most specific first (ties in the
 * order the blocks were added). The address space of one family is cut at every block boundary into
 * elementary intervals, each of which is covered by exactly the same blocks throughout; a lookup is a
 * binary search for the interval. Prefix blocks never partly overlap (two blocks are nested or
 * disjoint), so the covering blocks of an interval form a chain at most 129 deep, and building is a
 * single sweep with a stack after an O(n log n) sort.
 *
 * <p>Addresses are unsigned 128-bit numbers in two longs (IPv4 in the low long). Starts are stored
 * with the sign bit flipped so that plain signed comparisons order them as unsigned numbers.
 */
final class PrefixIndex {

    private static final int[] NONE = {};

    /** One block: its first and last address, prefix length and the caller's entry number. */
    record Block(long firstHigh, long firstLow, long lastHigh, long lastLow, int prefix, int entry) {}

    /** Indexes with more intervals than this get a jump table. */
    private static final int JUMP_TABLE_THRESHOLD = 512;
    /** Bits of the jump table: 4,096 buckets, 16 KiB, small enough to stay in the CPU's nearest caches. */
    private static final int JUMP_BITS = 12;

    /**
     * Interval starts, sign-flipped. IPv4 indexes keep only the low halves; IPv6 indexes interleave
     * high and low halves so that one probe touches one cache line.
     */
    private final long[] starts;
    private final boolean ipv4;
    /**
     * The covering entries of interval {@code i} are {@code entries[coverStart[i] .. coverStart[i + 1])}:
     * two flat arrays rather than an array per interval, so a lookup follows no extra pointer.
     */
    private final int[] coverStart;
    private final int[] entries;
    /**
     * For large indexes, {@code jump[b]} is the first interval whose bucket is {@code >= b}, where the
     * bucket of an address is the 12 bits that follow the leading bits all interval starts share
     * ({@code sharedBits} of them, equal to {@code sharedPrefix}). A lookup then binary-searches only
     * its bucket's few intervals: fewer steps, fewer mispredicted branches, fewer cache misses.
     */
    private final int[] jump;
    private final int sharedBits;
    private final long sharedPrefix;

    private PrefixIndex(long[] starts, boolean ipv4, int[][] covering, int[] jump, int sharedBits, long sharedPrefix) {
        this.starts = starts;
        this.ipv4 = ipv4;
        this.coverStart = new int[covering.length + 1];
        int total = 0;
        for (int i = 0; i < covering.length; i++) {
            coverStart[i] = total;
            total += covering[i].length;
        }
        coverStart[covering.length] = total;
        this.entries = new int[total];
        for (int i = 0; i < covering.length; i++) {
            System.arraycopy(covering[i], 0, entries, coverStart[i], covering[i].length);
        }
        this.jump = jump;
        this.sharedBits = sharedBits;
        this.sharedPrefix = sharedPrefix;
    }

    /** Builds the index of one address family's blocks. */
    static PrefixIndex build(List<Block> input, boolean ipv4) {
        Block[] blocks = input.toArray(Block[]::new);
        Arrays.sort(blocks, (a, b) -> {
            int c = compare(a.firstHigh, a.firstLow, b.firstHigh, b.firstLow);
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a.prefix, b.prefix);
            return c != 0 ? c : Integer.compare(a.entry, b.entry);
        });
        long[][] boundaries = boundaries(blocks);
        long[] high = boundaries[0];
        long[] low = boundaries[1];
        int n = low.length;
        int[][] covering = new int[n][];
        Block[] stack = new Block[blocks.length];
        int depth = 0;
        int next = 0;
        for (int i = 0; i < n; i++) {
            while (depth > 0 && compare(stack[depth - 1].lastHigh, stack[depth - 1].lastLow, high[i], low[i]) < 0) {
                depth--;
            }
            while (next < blocks.length && blocks[next].firstHigh == high[i] && blocks[next].firstLow == low[i]) {
                stack[depth++] = blocks[next++];
            }
            covering[i] = depth == 0 ? NONE : mostSpecificFirst(stack, depth);
        }
        long[] starts = new long[ipv4 ? n : 2 * n];
        for (int i = 0; i < n; i++) {
            if (ipv4) {
                starts[i] = low[i] ^ Long.MIN_VALUE;
            } else {
                starts[2 * i] = high[i] ^ Long.MIN_VALUE;
                starts[2 * i + 1] = low[i] ^ Long.MIN_VALUE;
            }
        }
        if (n <= JUMP_TABLE_THRESHOLD) {
            return new PrefixIndex(starts, ipv4, covering, null, 0, 0);
        }
        // The bucket bits are taken from one 64-bit word: an IPv4 address shifted to the top of the
        // low word, or the high word of an IPv6 address. Shared leading bits are skipped (at most
        // 64 - 12 of them) so that the buckets spread over the range actually used.
        long first = word(ipv4, high[0], low[0]);
        long last = word(ipv4, high[n - 1], low[n - 1]);
        int shared = Math.min(Long.numberOfLeadingZeros(first ^ last), (ipv4 ? 32 : 64) - JUMP_BITS);
        long prefix = shared == 0 ? 0 : first >>> (64 - shared);
        int[] jump = new int[(1 << JUMP_BITS) + 1];
        int i = 0;
        for (int bucket = 0; bucket <= 1 << JUMP_BITS; bucket++) {
            while (i < n && bucketOf(word(ipv4, high[i], low[i]), shared) < bucket) {
                i++;
            }
            jump[bucket] = i;
        }
        return new PrefixIndex(starts, ipv4, covering, jump, shared, prefix);
    }

    private static long word(boolean ipv4, long high, long low) {
        return ipv4 ? low << 32 : high;
    }

    private static int bucketOf(long word, int shared) {
        return (int) ((word << shared) >>> (64 - JUMP_BITS));
    }

    /** The first position in {@link #entry} of the interval's covering entries. */
    int from(int interval) {
        return interval < 0 ? 0 : coverStart[interval];
    }

    /** The position after the last of the interval's covering entries. */
    int to(int interval) {
        return interval < 0 ? 0 : coverStart[interval + 1];
    }

    /** The entry number at a position between {@link #from} and {@link #to}. */
    int entry(int position) {
        return entries[position];
    }

    /** The elementary interval holding the address, or -1 before the first one. */
    int find(long high, long low) {
        long l = low ^ Long.MIN_VALUE;
        long[] s = starts;
        int lo = 0;
        int hi = coverStart.length - 2;
        int found = -1;
        if (jump != null) {
            long word = word(ipv4, high, low);
            long keyPrefix = sharedBits == 0 ? 0 : word >>> (64 - sharedBits);
            if (keyPrefix != sharedPrefix) {
                // Outside the range every start shares: before all of them, or after all of them.
                return Long.compareUnsigned(keyPrefix, sharedPrefix) < 0 ? -1 : coverStart.length - 2;
            }
            int bucket = bucketOf(word, sharedBits);
            lo = jump[bucket];
            hi = jump[bucket + 1] - 1;
            found = lo - 1;
        }
        if (ipv4) {
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (s[mid] <= l) {
                    found = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
        } else {
            long h = high ^ Long.MIN_VALUE;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                long mh = s[2 * mid];
                if (mh < h || (mh == h && s[2 * mid + 1] <= l)) {
                    found = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
        }
        return found;
    }

    /** The sorted, distinct starts of all blocks and the first addresses after their ends. */
    private static long[][] boundaries(Block[] blocks) {
        List<long[]> points = new ArrayList<>(blocks.length * 2);
        for (Block block : blocks) {
            points.add(new long[] {block.firstHigh, block.firstLow});
            boolean lastOfSpace = block.lastHigh == -1L && block.lastLow == -1L;
            if (!lastOfSpace) {
                long afterLow = block.lastLow + 1;
                long afterHigh = afterLow == 0 ? block.lastHigh + 1 : block.lastHigh;
                points.add(new long[] {afterHigh, afterLow});
            }
        }
        points.sort((a, b) -> compare(a[0], a[1], b[0], b[1]));
        long[] high = new long[points.size()];
        long[] low = new long[points.size()];
        int n = 0;
        for (long[] point : points) {
            if (n == 0 || high[n - 1] != point[0] || low[n - 1] != point[1]) {
                high[n] = point[0];
                low[n] = point[1];
                n++;
            }
        }
        return new long[][] {Arrays.copyOf(high, n), Arrays.copyOf(low, n)};
    }

    private static int[] mostSpecificFirst(Block[] stack, int depth) {
        // The stack holds the chain outermost first, so walking it from the top gives the most specific
        // block first. Identical blocks sit next to each other in entry order; among equals the
        // earliest entry decides, so each run of equal prefixes is emitted bottom-up.
        int[] entries = new int[depth];
        int out = 0;
        int top = depth - 1;
        while (top >= 0) {
            int bottom = top;
            while (bottom > 0 && stack[bottom - 1].prefix == stack[top].prefix) {
                bottom--;
            }
            for (int i = bottom; i <= top; i++) {
                entries[out++] = stack[i].entry;
            }
            top = bottom - 1;
        }
        return entries;
    }

    static int compare(long aHigh, long aLow, long bHigh, long bLow) {
        int c = Long.compareUnsigned(aHigh, bHigh);
        return c != 0 ? c : Long.compareUnsigned(aLow, bLow);
    }
}
