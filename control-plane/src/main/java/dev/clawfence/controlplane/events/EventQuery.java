package dev.clawfence.controlplane.events;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.row;
import static org.jooq.impl.DSL.table;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.jooq.Condition;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.SelectField;
import org.jooq.SortField;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * Reads a tenant's stored connection events inside its row-level-security transaction: one page newest
 * first by the keyset (time, instance, sequence), the whole range as a stream for the export, or one
 * stored batch's events for the live stream. Every filter value is a bind (the address block as its
 * first and last address, so that the {@code (tenant_id, peer_address)} index serves it also under a
 * generic plan); instance, port, protocol, rule and reason are equalities that the GIN index of V017
 * serves. Under row-level security only leakproof operators reach an index condition: equality and
 * inet's {@code >=} and {@code <=} are, {@code <<=} and the array operators are not.
 */
@Singleton
public final class EventQuery {

    /** One event as the API shows it; also the CSV columns, in this order. */
    @JsonPropertyOrder({"time", "instance", "sequence", "direction", "verdict", "protocol", "sourceAddress",
            "sourcePort", "destinationAddress", "destinationPort", "ruleId", "reason", "interface", "country"})
    public record Item(String time, UUID instance, long sequence, String direction, String verdict, String protocol,
            String sourceAddress, int sourcePort, String destinationAddress, int destinationPort, String ruleId,
            String reason, @JsonProperty("interface") String iface, String country) {

        /** The CSV header: the JSON names in the JSON order. */
        public static final List<String> COLUMNS = List.of("time", "instance", "sequence", "direction", "verdict",
                "protocol", "sourceAddress", "sourcePort", "destinationAddress", "destinationPort", "ruleId", "reason",
                "interface", "country");

        /** The values in {@link #COLUMNS} order (nulls stay null). */
        public List<Object> values() {
            return Arrays.asList(time, instance, sequence, direction, verdict, protocol, sourceAddress, sourcePort,
                    destinationAddress, destinationPort, ruleId, reason, iface, country);
        }
    }

    /** A page and the cursor of the next one (null on the last page). */
    public record Page(List<Item> items, String nextCursor) {}

    static final Table<Record> EVENTS = table(name("connection_events"));
    static final Field<UUID> TENANT = field(name("tenant_id"), SQLDataType.UUID);
    static final Field<UUID> INSTANCE = field(name("instance_id"), SQLDataType.UUID);
    static final Field<Long> SEQUENCE = field(name("sequence"), SQLDataType.BIGINT);
    static final Field<OffsetDateTime> TIME = field(name("time"), SQLDataType.TIMESTAMPWITHTIMEZONE(6));
    static final Field<String> DIRECTION = field(name("direction"), SQLDataType.VARCHAR);
    static final Field<String> VERDICT = field(name("verdict"), SQLDataType.VARCHAR);
    static final Field<Short> PROTOCOL = field(name("ip_protocol"), SQLDataType.SMALLINT);
    static final Field<Object> SOURCE = field(name("source_address"));
    static final Field<Integer> SOURCE_PORT = field(name("source_port"), SQLDataType.INTEGER);
    static final Field<Object> DESTINATION = field(name("destination_address"));
    static final Field<Integer> DESTINATION_PORT = field(name("destination_port"), SQLDataType.INTEGER);
    static final Field<Object> PEER = field(name("peer_address"));
    static final Field<String> RULE = field(name("rule_id"), SQLDataType.VARCHAR);
    static final Field<String> REASON = field(name("reason"), SQLDataType.VARCHAR);
    static final Field<String> INTERFACE = field(name("interface"), SQLDataType.VARCHAR);
    static final Field<String> COUNTRY = field(name("country"), SQLDataType.VARCHAR);
    private static final Field<String> SOURCE_TEXT = field("host({0})", String.class, SOURCE);
    private static final Field<String> DESTINATION_TEXT = field("host({0})", String.class, DESTINATION);

    private static final List<SelectField<?>> COLUMNS = List.of(TIME, INSTANCE, SEQUENCE, DIRECTION, VERDICT, PROTOCOL,
            SOURCE_TEXT, SOURCE_PORT, DESTINATION_TEXT, DESTINATION_PORT, RULE, REASON, INTERFACE, COUNTRY);
    private static final List<SortField<?>> NEWEST_FIRST = List.of(TIME.desc(), INSTANCE.desc(), SEQUENCE.desc());
    private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);
    /** Rows fetched per round trip by the export's server-side cursor: bounds its memory. */
    static final int EXPORT_FETCH_SIZE = 1000;

    private final EventRetention retention;

    public EventQuery(EventRetention retention) {
        this.retention = retention;
    }

    /** The page of at most {@code limit} events after {@code after} (null: the newest). */
    public Page page(TenantTransaction tx, EventFilter filter, EventCursor after, int limit) {
        planWithTheValues(tx);
        List<Condition> where = conditions(tx.tenantId(), filter);
        where.add(retained(tx));
        if (after != null) {
            OffsetDateTime time = offsetDateTime(after.timeMicros());
            // The plain time bound lets the index range start at the cursor; the row comparison breaks ties.
            where.add(TIME.le(time));
            where.add(row(TIME, INSTANCE, SEQUENCE).lt(time, after.instance(), after.sequence()));
        }
        List<Item> items = new ArrayList<>(limit + 1);
        for (Record r : tx.sql().select(COLUMNS).from(EVENTS).where(where).orderBy(NEWEST_FIRST).limit(limit + 1).fetch()) {
            items.add(item(r));
        }
        String next = null;
        if (items.size() > limit) {
            items.removeLast();
            Item last = items.getLast();
            long fromMicros = after != null ? after.fromMicros() : micros(filter.from());
            next = new EventCursor(fromMicros, micros(Instant.parse(last.time())), last.instance(), last.sequence())
                    .encode(filter.fingerprint());
        }
        return new Page(items, next);
    }

    /**
     * Streams every event of the filter's range, newest first, to {@code sink} through a server-side
     * cursor ({@value #EXPORT_FETCH_SIZE} rows per fetch); returns the count.
     */
    public long export(TenantTransaction tx, EventFilter filter, Consumer<Item> sink) {
        long count = 0;
        planWithTheValues(tx);
        List<Condition> where = conditions(tx.tenantId(), filter);
        where.add(retained(tx));
        try (Cursor<Record> cursor = tx.sql().select(COLUMNS).from(EVENTS).where(where)
                .orderBy(NEWEST_FIRST).fetchSize(EXPORT_FETCH_SIZE).fetchLazy()) {
            for (Record r : cursor) {
                sink.accept(item(r));
                count++;
            }
        }
        return count;
    }

    /** The events of one stored batch (see {@link EventLiveStream}) that match {@code filter}, in sequence order. */
    List<Item> batch(DSLContext sql, UUID tenant, EventFilter filter, UUID instance, long firstSequence,
            long lastSequence, OffsetDateTime firstTime, OffsetDateTime lastTime) {
        List<Condition> where = conditions(tenant, filter);
        where.add(INSTANCE.eq(instance));
        where.add(TIME.between(firstTime, lastTime));
        where.add(SEQUENCE.between(firstSequence, lastSequence));
        return sql.select(COLUMNS).from(EVENTS).where(where).orderBy(SEQUENCE).fetch(EventQuery::item);
    }

    /**
     * Makes PostgreSQL plan this transaction's statements with their values. The driver prepares a
     * statement it has run five times, and PostgreSQL may then keep one generic plan for every value:
     * the first page of a frequent value comes from the time index, and that plan, reused for a rare or
     * absent value, reads the whole range (an address block with no events took 1.3 s over 20 million;
     * BENCHMARKS.md "Event list: each request planned with its values"). Planning with the values took
     * ~0.5 ms where measured.
     */
    private static void planWithTheValues(TenantTransaction tx) {
        tx.sql().execute("set local plan_cache_mode = force_custom_plan");
    }

    /**
     * The tenant's retention as a time bound: rows older than it may still be stored until maintenance
     * deletes them, but are never shown. A second lower bound on the time index costs nothing.
     */
    private Condition retained(TenantTransaction tx) {
        return TIME.ge(retention.retainedFrom(tx).atOffset(ZoneOffset.UTC));
    }

    static List<Condition> conditions(UUID tenant, EventFilter filter) {
        List<Condition> where = new ArrayList<>();
        where.add(TENANT.eq(tenant));
        if (filter.from() != null) {
            where.add(TIME.ge(filter.from().atOffset(ZoneOffset.UTC)));
        }
        if (filter.to() != null) {
            where.add(TIME.lt(filter.to().atOffset(ZoneOffset.UTC)));
        }
        if (!filter.directions().isEmpty() && filter.directions().size() < EventFilter.DIRECTIONS.size()) {
            where.add(DIRECTION.in(filter.directions()));
        }
        if (!filter.verdicts().isEmpty() && filter.verdicts().size() < EventFilter.VERDICTS.size()) {
            where.add(VERDICT.in(filter.verdicts()));
        }
        if (filter.address() != null) {
            // peer_address holds single addresses (ingest writes the full mask length), whose inet order is
            // plain address order: the block is exactly the range [first, last], which a btree serves
            // whatever the plan and under row-level security (<<= is not leakproof, so it could only
            // filter). A second, redundant <<= made the planner multiply two estimates of the same rows:
            // a hot address looked rare (its first page took 470 ms at p95).
            IPAddress block = new IPAddressString(filter.address()).getAddress();
            String first = block.getLower().withoutPrefixLength().toCanonicalString();
            String last = block.getUpper().withoutPrefixLength().toCanonicalString();
            where.add(DSL.condition("{0} between {1}::inet and {2}::inet", PEER, DSL.val(first), DSL.val(last)));
        }
        if (filter.port() != null) {
            where.add(DESTINATION_PORT.eq(filter.port()));
        }
        if (filter.protocol() != null) {
            where.add(PROTOCOL.eq(filter.protocol().shortValue()));
        }
        if (filter.rule() != null) {
            where.add(RULE.eq(filter.rule()));
        }
        if (filter.reason() != null) {
            where.add(REASON.eq(filter.reason()));
        }
        if (filter.instance() != null) {
            where.add(INSTANCE.eq(filter.instance()));
        }
        return where;
    }

    private static Item item(Record r) {
        String rule = r.get(RULE);
        return new Item(MICROS.format(r.get(TIME)), r.get(INSTANCE), r.get(SEQUENCE), r.get(DIRECTION), r.get(VERDICT),
                protocol(r.get(PROTOCOL)), r.get(SOURCE_TEXT), r.get(SOURCE_PORT), r.get(DESTINATION_TEXT),
                r.get(DESTINATION_PORT), rule == null || rule.isEmpty() ? null : rule, r.get(REASON), r.get(INTERFACE),
                r.get(COUNTRY));
    }

    static String protocol(short number) {
        return switch (number) {
            case 1 -> "icmp";
            case 6 -> "tcp";
            case 17 -> "udp";
            case 58 -> "icmpv6";
            default -> Short.toString(number);
        };
    }

    static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }

    static OffsetDateTime offsetDateTime(long micros) {
        return Instant.EPOCH.plus(micros, ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    }
}
