package dev.clawfence.controlplane.events;

import com.google.common.net.InetAddresses;
import com.google.protobuf.ByteString;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.Verdict;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The rollups of an instance's stored batches (tables of {@code V008__event_rollups.sql}): the events are
 * added up in Java ({@link #add}, held across batches by {@link PendingRollups}), then each rollup table gets
 * one {@code INSERT … SELECT FROM unnest(…)} with the distinct keys held (numbers as primitive arrays, which
 * the driver sends in binary: no per-element text parsing in the server), in a transaction that holds the
 * instance's mark row ({@link #write}): plain rows, one per key and write, without a unique key to probe
 * (V013). Reports add the rows of a key up, and {@link #compact} merges them later into one per key; both
 * give the same answers. Every key holds the instance, and the instance's writes are serialised by its mark lock.
 *
 * <p>Sources are those of inbound attempts, destinations those of outbound ones (the other end, as the
 * events' {@code peer_address}); the host's own address in either role says nothing about who knocks.
 */
public final class EventRollups {

    static final String GEO = "geo";
    static final String UNKNOWN_DESTINATION = "unknown-destination";
    static final String PORT_CLOSED = "port-closed";
    private static final long MINUTE = 60_000_000L;
    private static final long HOUR = 60 * MINUTE;
    private static final long DAY = 24 * HOUR;
    /** The tables, each with its time-bucket column, in the order retention deletes them. */
    static final List<String[]> TABLES = List.of(
            new String[] {"event_counts_minute", "minute"},
            new String[] {"rule_counter_minute", "minute"},
            new String[] {"rule_hits_daily", "day"},
            new String[] {"traffic_sources_hourly", "hour"},
            new String[] {"traffic_destinations_hourly", "hour"},
            new String[] {"traffic_source_ports_daily", "day"},
            new String[] {"event_capture_losses_minute", "minute"});

    private record Count(long minute, int direction, int verdict) {}

    private record RuleDay(long day, String rule) {}

    /**
     * A peer key whose address is two longs (an IPv4 one in {@code low}), not a {@code ByteString}: lookups in
     * maps of tens of thousands of keys compared the keys' byte arrays, a pointer chase each, which was the
     * hottest spot of ingest in the JVM (BENCHMARKS.md "Event ingest, fifth round").
     */
    private record Peer(long bucket, long high, long low, boolean v6, int port) {

        static Peer of(long bucket, ByteString address, int port) {
            if (address.size() == 16) {
                return new Peer(bucket, bits(address, 0, 8), bits(address, 8, 8), true, port);
            }
            return new Peer(bucket, 0, bits(address, 0, 4), false, port);
        }

        private static long bits(ByteString address, int from, int length) {
            long bits = 0;
            for (int i = from; i < from + length; i++) {
                bits = bits << 8 | (address.byteAt(i) & 0xff);
            }
            return bits;
        }

        /** PostgreSQL's text form of the address (a v4-mapped IPv6 one stays IPv6). */
        String address() {
            byte[] bytes = new byte[v6 ? 16 : 4];
            long rest = low;
            for (int i = bytes.length - 1; i >= 0; i--) {
                if (i == 7) {
                    rest = high;
                }
                bytes[i] = (byte) rest;
                rest >>>= 8;
            }
            try {
                InetAddress parsed = v6 ? Inet6Address.getByAddress(null, bytes, null) : InetAddress.getByAddress(bytes);
                return parsed.getHostAddress();
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Per key: allowed, blocked, would-block, the reason's special count, first seen, last seen. */
    private static final int ALLOWED = 0;
    private static final int BLOCKED = 1;
    private static final int WOULD_BLOCK = 2;
    private static final int SPECIAL = 3;
    private static final int FIRST = 4;
    private static final int LAST = 5;

    private final Map<Count, long[]> counts = new HashMap<>();
    private final Map<RuleDay, long[]> ruleHits = new HashMap<>();
    private final Map<Peer, long[]> sources = new HashMap<>();
    private final Map<Peer, long[]> destinations = new HashMap<>();
    private final Map<Peer, long[]> sourcePorts = new HashMap<>();

    /** Adds one stored event, at {@code timeMicros} (its time as stored, clamped or not). */
    public void add(ConnectionEvent event, long timeMicros) {
        add(event.getDirection() == Direction.DIRECTION_INBOUND, verdictIndex(event.getVerdict()), event.getRuleId(),
                event.getReason(), event.getSourceAddress(), event.getDestinationAddress(), event.getDestinationPort(),
                timeMicros);
    }

    private void add(boolean inbound, int verdict, String ruleId, String reason, ByteString source,
            ByteString destination, int destinationPort, long timeMicros) {
        counts.computeIfAbsent(new Count(floor(timeMicros, MINUTE), inbound ? 0 : 1, verdict), k -> new long[1])[0]++;
        if (!ruleId.isEmpty()) {
            long[] hit = ruleHits.computeIfAbsent(new RuleDay(floor(timeMicros, DAY), ruleId), k -> new long[2]);
            hit[0]++;
            hit[1] = Math.max(hit[1], timeMicros);
        }
        if (inbound) {
            long[] row = peer(sources, Peer.of(floor(timeMicros, HOUR), source, 0), timeMicros);
            row[verdict]++;
            if (GEO.equals(reason)) {
                row[SPECIAL]++;
            }
            if (verdict != ALLOWED && PORT_CLOSED.equals(reason)) {
                peer(sourcePorts, Peer.of(floor(timeMicros, DAY), source, destinationPort), timeMicros)[0]++;
            }
        } else {
            long[] row = peer(destinations, Peer.of(floor(timeMicros, HOUR), destination, destinationPort), timeMicros);
            row[verdict]++;
            if (UNKNOWN_DESTINATION.equals(reason)) {
                row[SPECIAL]++;
            }
        }
    }

    /**
     * Adds the events of {@code instance} stored with a sequence in {@code (after, through]}, read back from
     * {@code connection_events} in the tenant's transaction: what a replica held in memory and never wrote
     * ({@link PendingRollups}). The batch log bounds the time range, so the scan stays in the index ranges of
     * those batches' partitions. Returns the events added.
     */
    public long addStored(Connection connection, UUID tenant, UUID instance, long after, long through) throws SQLException {
        OffsetDateTime from = null;
        OffsetDateTime to = null;
        try (PreparedStatement range = connection.prepareStatement("""
                select min(first_time), max(last_time) from event_stream_batches
                 where instance_id = ? and last_sequence > ? and first_sequence <= ?""")) {
            range.setObject(1, instance);
            range.setLong(2, after);
            range.setLong(3, through);
            try (ResultSet rs = range.executeQuery()) {
                rs.next();
                from = rs.getObject(1, OffsetDateTime.class);
                to = rs.getObject(2, OffsetDateTime.class);
            }
        }
        // The batch log keeps two days (EventLiveStream.KEPT); older batches are found without the time bound.
        String bounded = from == null ? "" : " and time >= ? and time <= ?";
        long added = 0;
        try (PreparedStatement read = connection.prepareStatement("""
                select direction = 'inbound', verdict, rule_id, reason, host(source_address), family(source_address),
                       host(destination_address), family(destination_address), destination_port,
                       (extract(epoch from time) * 1000000)::bigint
                  from connection_events
                 where tenant_id = ? and instance_id = ? and sequence > ? and sequence <= ?""" + bounded)) {
            read.setObject(1, tenant);
            read.setObject(2, instance);
            read.setLong(3, after);
            read.setLong(4, through);
            if (from != null) {
                read.setObject(5, from);
                read.setObject(6, to);
            }
            read.setFetchSize(10_000);
            try (ResultSet rs = read.executeQuery()) {
                while (rs.next()) {
                    add(rs.getBoolean(1), verdictIndex(rs.getString(2)), rs.getString(3), rs.getString(4),
                            bytes(rs.getString(5), rs.getInt(6)), bytes(rs.getString(7), rs.getInt(8)), rs.getInt(9),
                            rs.getLong(10));
                    added++;
                }
            }
        }
        return added;
    }

    /** The address bytes of a stored {@code inet}, as the batch carried them (a v4-mapped IPv6 address stays 16 bytes). */
    private static ByteString bytes(String host, int family) {
        byte[] address = InetAddresses.forString(host).getAddress();
        if (family == 6 && address.length == 4) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(address, 0, mapped, 12, 4);
            address = mapped;
        }
        return ByteString.copyFrom(address);
    }

    /** The distinct keys held over all tables (each becomes one row when written). */
    public int keys() {
        return counts.size() + ruleHits.size() + sources.size() + destinations.size() + sourcePorts.size();
    }

    /** Whether no event has been added. */
    public boolean isEmpty() {
        return counts.isEmpty();
    }

    /** Adds what {@link #add} collected to the rollup tables of {@code instance}, in the caller's transaction. */
    public void write(Connection connection, UUID tenant, UUID instance) throws SQLException {
        if (isEmpty()) {
            return;
        }
        writeCounts(connection, tenant, instance);
        writeRuleHits(connection, tenant, instance);
        writeSources(connection, tenant, instance);
        writeDestinations(connection, tenant, instance);
        writeSourcePorts(connection, tenant, instance);
    }

    /**
     * Deletes the rollup rows of every tenant whose bucket starts before {@code retainedFrom}, on a
     * connection of the owner role inside its transaction; returns the rows deleted.
     */
    public static long expire(Connection owner, Instant retainedFrom) throws SQLException {
        try (Statement s = owner.createStatement()) {
            // The expiry policy of each table lets the owner delete across tenants only with this set.
            s.execute("set local clawfence.maintenance = 'expiry'");
        }
        long deleted = 0;
        for (String[] table : TABLES) {
            try (PreparedStatement delete = owner.prepareStatement(
                    "delete from " + table[0] + " where " + table[1] + " < ?")) {
                if (table[1].equals("day")) {
                    delete.setObject(1, retainedFrom.atOffset(ZoneOffset.UTC).toLocalDate());
                } else {
                    delete.setObject(1, OffsetDateTime.ofInstant(retainedFrom, ZoneOffset.UTC));
                }
                deleted += delete.executeUpdate();
            }
        }
        return deleted;
    }

    /** Key of the compaction's advisory lock ("clawrc01"), shared by every replica. */
    static final long COMPACTION_LOCK = 0x636c_6177_7263_3031L;

    /**
     * How each table that ingest appends to merges: its key, its counts and how several rows of one key
     * become one (the same aggregates the reports apply, so merging never changes an answer).
     */
    private record Merge(String table, String bucket, String keys, String counts, String merged) {}

    private static final List<Merge> MERGES = List.of(
            new Merge("event_counts_minute", "minute", "tenant_id, instance_id, minute, direction, verdict",
                    "events", "sum(events)"),
            new Merge("rule_hits_daily", "day", "tenant_id, instance_id, day, rule_id",
                    "hits, last_hit_at", "sum(hits), max(last_hit_at)"),
            new Merge("traffic_sources_hourly", "hour", "tenant_id, instance_id, hour, address",
                    "allowed, blocked, would_block, geo, first_seen, last_seen",
                    "sum(allowed), sum(blocked), sum(would_block), sum(geo), min(first_seen), max(last_seen)"),
            new Merge("traffic_destinations_hourly", "hour", "tenant_id, instance_id, hour, address, port",
                    "allowed, blocked, would_block, unknown, first_seen, last_seen",
                    "sum(allowed), sum(blocked), sum(would_block), sum(unknown), min(first_seen), max(last_seen)"),
            new Merge("traffic_source_ports_daily", "day", "tenant_id, instance_id, day, address, port",
                    "attempts, first_seen, last_seen", "sum(attempts), min(first_seen), max(last_seen)"));

    /**
     * What one compaction did: rows read (and deleted) and rows written back, merged, over all tables;
     * {@code skipped} when another replica held the lock.
     */
    public record Compaction(boolean skipped, int tenants, long rowsBefore, long rowsAfter) {}

    /**
     * Merges the rollup rows of every bucket that batches stored since {@code since} touched (found in
     * the live stream's batch log, {@code event_stream_batches}) into one row per key, on a connection
     * of the owner role inside its transaction. Ingest appends one row per key and write ({@link #write});
     * this keeps the tables near one row per key. Readers see the rows before or after it, both giving
     * the same sums; batches committing meanwhile stay as rows of their own until the next run.
     */
    public static Compaction compact(Connection owner, Instant since) throws SQLException {
        try (Statement s = owner.createStatement()) {
            // The compaction policies (V013) let the owner read, delete and insert across tenants only with this set.
            s.execute("set local clawfence.maintenance = 'compaction'");
            try (ResultSet rs = s.executeQuery("select pg_try_advisory_xact_lock(" + COMPACTION_LOCK + ")")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return new Compaction(true, 0, 0, 0);
                }
            }
        }
        record Touched(UUID tenant, OffsetDateTime first, OffsetDateTime last) {}
        List<Touched> touched = new ArrayList<>();
        try (PreparedStatement s = owner.prepareStatement("""
                select tenant_id, min(first_time), max(last_time) from event_stream_batches
                 where created_at >= ? group by tenant_id""")) {
            s.setObject(1, OffsetDateTime.ofInstant(since, ZoneOffset.UTC));
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    touched.add(new Touched(rs.getObject(1, UUID.class), rs.getObject(2, OffsetDateTime.class),
                            rs.getObject(3, OffsetDateTime.class)));
                }
            }
        }
        long before = 0;
        long after = 0;
        for (Merge merge : MERGES) {
            // The bucket column is named after its unit (minute, hour) or is a date (day).
            String range = merge.bucket().equals("day")
                    ? merge.bucket() + " >= (?::timestamptz at time zone 'UTC')::date and " + merge.bucket()
                            + " <= (?::timestamptz at time zone 'UTC')::date"
                    : merge.bucket() + " >= date_trunc('" + merge.bucket() + "', ?::timestamptz, 'UTC') and " + merge.bucket()
                            + " <= date_trunc('" + merge.bucket() + "', ?::timestamptz, 'UTC')";
            try (PreparedStatement s = owner.prepareStatement("""
                    with moved as (delete from %1$s where tenant_id = ? and %2$s returning *),
                         merged as (insert into %1$s (%3$s, %4$s) select %3$s, %5$s from moved group by %3$s returning 1)
                    select (select count(*) from moved), (select count(*) from merged)"""
                    .formatted(merge.table(), range, merge.keys(), merge.counts(), merge.merged()))) {
                for (Touched t : touched) {
                    s.setObject(1, t.tenant());
                    s.setObject(2, t.first());
                    s.setObject(3, t.last());
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        before += rs.getLong(1);
                        after += rs.getLong(2);
                    }
                }
            }
        }
        return new Compaction(false, touched.size(), before, after);
    }

    private void writeCounts(Connection c, UUID tenant, UUID instance) throws SQLException {
        int n = counts.size();
        long[] minutes = new long[n];
        String[] directions = new String[n];
        String[] verdicts = new String[n];
        long[] events = new long[n];
        int i = 0;
        for (Map.Entry<Count, long[]> e : counts.entrySet()) {
            minutes[i] = e.getKey().minute() / 1_000_000;
            directions[i] = e.getKey().direction() == 0 ? "inbound" : "outbound";
            verdicts[i] = verdictName(e.getKey().verdict());
            events[i] = e.getValue()[0];
            i++;
        }
        try (PreparedStatement s = c.prepareStatement("""
                insert into event_counts_minute (tenant_id, instance_id, minute, direction, verdict, events)
                select ?, ?, to_timestamp(m), d, v, n from unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[]) as u(m, d, v, n)""")) {
            s.setObject(1, tenant);
            s.setObject(2, instance);
            s.setObject(3, minutes);
            s.setObject(4, directions);
            s.setObject(5, verdicts);
            s.setObject(6, events);
            s.executeUpdate();
        }
    }

    private void writeRuleHits(Connection c, UUID tenant, UUID instance) throws SQLException {
        if (ruleHits.isEmpty()) {
            return;
        }
        int n = ruleHits.size();
        long[] days = new long[n];
        String[] rules = new String[n];
        long[] hits = new long[n];
        long[] last = new long[n];
        int i = 0;
        for (Map.Entry<RuleDay, long[]> e : ruleHits.entrySet()) {
            days[i] = e.getKey().day() / 1_000_000;
            rules[i] = e.getKey().rule();
            hits[i] = e.getValue()[0];
            last[i] = e.getValue()[1];
            i++;
        }
        try (PreparedStatement s = c.prepareStatement("""
                insert into rule_hits_daily (tenant_id, instance_id, day, rule_id, hits, last_hit_at)
                select ?, ?, (to_timestamp(d) at time zone 'UTC')::date, r, h, timestamptz 'epoch' + l * interval '1 microsecond'
                  from unnest(?::bigint[], ?::text[], ?::bigint[], ?::bigint[]) as u(d, r, h, l)""")) {
            s.setObject(1, tenant);
            s.setObject(2, instance);
            s.setObject(3, days);
            s.setObject(4, rules);
            s.setObject(5, hits);
            s.setObject(6, last);
            s.executeUpdate();
        }
    }

    private void writeSources(Connection c, UUID tenant, UUID instance) throws SQLException {
        writePeers(c, tenant, instance, sources, false, """
                insert into traffic_sources_hourly (tenant_id, instance_id, hour, address, allowed, blocked, would_block,
                                                    geo, first_seen, last_seen)
                select ?, ?, to_timestamp(b), a::inet, al, bl, wb, sp,
                       timestamptz 'epoch' + f * interval '1 microsecond', timestamptz 'epoch' + l * interval '1 microsecond'
                  from unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
                       as u(b, a, p, al, bl, wb, sp, f, l)""");
    }

    private void writeDestinations(Connection c, UUID tenant, UUID instance) throws SQLException {
        writePeers(c, tenant, instance, destinations, false, """
                insert into traffic_destinations_hourly (tenant_id, instance_id, hour, address, port, allowed, blocked,
                                                         would_block, unknown, first_seen, last_seen)
                select ?, ?, to_timestamp(b), a::inet, p, al, bl, wb, sp,
                       timestamptz 'epoch' + f * interval '1 microsecond', timestamptz 'epoch' + l * interval '1 microsecond'
                  from unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
                       as u(b, a, p, al, bl, wb, sp, f, l)""");
    }

    private void writeSourcePorts(Connection c, UUID tenant, UUID instance) throws SQLException {
        writePeers(c, tenant, instance, sourcePorts, true, """
                insert into traffic_source_ports_daily (tenant_id, instance_id, day, address, port, attempts,
                                                        first_seen, last_seen)
                select ?, ?, (to_timestamp(b) at time zone 'UTC')::date, a::inet, p, al,
                       timestamptz 'epoch' + f * interval '1 microsecond', timestamptz 'epoch' + l * interval '1 microsecond'
                  from unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
                       as u(b, a, p, al, bl, wb, sp, f, l)""");
    }

    /** Appends one row per key of {@code peers}: bucket, address, port, the three verdicts, the special count, first, last. */
    private static void writePeers(Connection c, UUID tenant, UUID instance, Map<Peer, long[]> peers, boolean single,
            String sql) throws SQLException {
        if (peers.isEmpty()) {
            return;
        }
        int n = peers.size();
        long[] buckets = new long[n];
        String[] addresses = new String[n];
        int[] ports = new int[n];
        long[][] columns = new long[6][n];
        int i = 0;
        for (Map.Entry<Peer, long[]> e : peers.entrySet()) {
            buckets[i] = e.getKey().bucket() / 1_000_000;
            addresses[i] = e.getKey().address();
            ports[i] = e.getKey().port();
            long[] v = e.getValue();
            for (int col = 0; col < 6; col++) {
                // Source-port rows keep one count, in the first column.
                columns[col][i] = single && col > ALLOWED && col < FIRST ? 0L : v[col];
            }
            i++;
        }
        try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setObject(1, tenant);
            s.setObject(2, instance);
            s.setObject(3, buckets);
            s.setObject(4, addresses);
            s.setObject(5, ports);
            for (int col = 0; col < 6; col++) {
                s.setObject(6 + col, columns[col]);
            }
            s.executeUpdate();
        }
    }

    private static long[] peer(Map<Peer, long[]> peers, Peer key, long timeMicros) {
        long[] row = peers.get(key);
        if (row == null) {
            row = new long[] {0, 0, 0, 0, timeMicros, timeMicros};
            peers.put(key, row);
        } else {
            row[FIRST] = Math.min(row[FIRST], timeMicros);
            row[LAST] = Math.max(row[LAST], timeMicros);
        }
        return row;
    }

    private static long floor(long micros, long unit) {
        return Math.floorDiv(micros, unit) * unit;
    }

    private static int verdictIndex(String stored) {
        return switch (stored) {
            case "allowed" -> ALLOWED;
            case "blocked" -> BLOCKED;
            default -> WOULD_BLOCK;
        };
    }

    private static int verdictIndex(Verdict verdict) {
        return switch (verdict) {
            case VERDICT_ALLOWED -> ALLOWED;
            case VERDICT_BLOCKED -> BLOCKED;
            case VERDICT_WOULD_BLOCK -> WOULD_BLOCK;
            default -> throw new IllegalArgumentException("not a storable verdict: " + verdict);
        };
    }

    private static String verdictName(int index) {
        return switch (index) {
            case ALLOWED -> "allowed";
            case BLOCKED -> "blocked";
            default -> "would-block";
        };
    }
}
