package dev.clawfence.agent.spool;

/**
 * Records the spool could not keep: {@code count} sequence numbers in {@code firstSeq..lastSeq} that
 * will never be read. The range may also hold numbers that are readable or counted by another loss;
 * {@code count} counts only the numbers this loss accounts for, so counts of distinct losses add up.
 * A loss stays pending (across restarts) until an {@link Spool#ack(long) ack} reaches {@code lastSeq}.
 */
public record Loss(long firstSeq, long lastSeq, long count, Reason reason) {

    /** Why the records were lost. */
    public enum Reason {
        /** The spool reached its byte limit and deleted its oldest segment before upload. */
        FULL_DROPPED_OLDEST,
        /** A checksum or frame did not verify: the record (or the rest of its segment) is unreadable. */
        CORRUPT,
        /**
         * The end of the spool was lost in a crash (a half-written record, or unsynced data lost with
         * the page cache in a host crash). After a host crash the range is an upper bound: it also
         * covers numbers reserved but possibly never issued, because which of them were is not on disk.
         */
        TORN_TAIL
    }

    public Loss {
        if (firstSeq < 1 || lastSeq < firstSeq) {
            throw new IllegalArgumentException("loss range " + firstSeq + ".." + lastSeq + " is empty or below 1");
        }
        if (count < 1 || count > lastSeq - firstSeq + 1) {
            throw new IllegalArgumentException("loss count " + count + " does not fit the range " + firstSeq + ".." + lastSeq);
        }
    }
}
