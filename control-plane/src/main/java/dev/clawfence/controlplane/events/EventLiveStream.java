package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.tenancy.Authenticator;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.sse.Event;
import io.micronaut.json.JsonMapper;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jooq.Record7;
import org.jooq.impl.DSL;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * Live event streams (Server-Sent Events): each subscriber walks the log of stored batches
 * ({@code event_stream_batches}, V010) from its position and sends the matching events of each batch,
 * every one with its position as the SSE {@code id}, so a client that reconnects with
 * {@code Last-Event-ID} continues without gaps or duplicates, on any replica.
 *
 * <p>The log is read in the order of the writing transactions' ids, and only below the oldest
 * transaction still running, so a batch that commits late is waited for rather than skipped. The
 * ingest transaction notifies {@value #CHANNEL} with the tenant id on commit; this replica's listener
 * wakes that tenant's subscribers at once, and each also polls every second, which covers a missed
 * notification and a batch held back behind a running transaction.
 *
 * <p>A stream outlives the request that authenticated it, so every {@code stream-recheck} it
 * authenticates its token again and ends when the token was revoked (the client's reconnect then
 * gets the 401).
 */
@Singleton
public final class EventLiveStream implements AutoCloseable {

    static final String CHANNEL = "clawfence_events";
    static final Duration POLL = Duration.ofSeconds(1);
    /** How long a batch stays in the log, and so how far back a Last-Event-ID can resume. */
    static final Duration KEPT = Duration.ofDays(2);
    private static final int BATCHES_PER_POLL = 100;
    private static final Logger LOG = LoggerFactory.getLogger(EventLiveStream.class);
    private static final Pattern POSITION = Pattern.compile("(\\d{1,19})-(\\d{1,19})-(\\d{1,19})");

    /**
     * A place in a tenant's stream: every batch before (xid, id) is done, and of batch (xid, id) the
     * sequences up to {@code sequence}. Its text is the SSE id.
     */
    record Position(long xid, long id, long sequence) {

        String text() {
            return xid + "-" + id + "-" + sequence;
        }

        /** Reads a Last-Event-ID, or throws a 400 problem naming the header. */
        static Position parse(String text) {
            Matcher m = POSITION.matcher(text.strip());
            if (m.matches()) {
                try {
                    return new Position(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
                } catch (NumberFormatException e) {
                    // too large: reported below
                }
            }
            throw ApiProblem.badRequest("Last-Event-ID", "\"" + (text.length() > 80 ? text.substring(0, 80) : text)
                    + "\" is not the id of an event of this stream");
        }
    }

    private final Database database;
    private final TenantAccess access;
    private final EventQuery query;
    private final JsonMapper json;
    private final Duration heartbeat;
    private final Authenticator authenticator;
    private final Duration recheck;
    private final Map<UUID, Set<Semaphore>> subscribers = new ConcurrentHashMap<>();
    private final Thread listener;
    private volatile boolean running = true;

    public EventLiveStream(Database database, TenantAccess access, EventQuery query, JsonMapper json,
            @Value("${clawfence.events.stream-heartbeat:15s}") Duration heartbeat, Authenticator authenticator,
            @Value("${clawfence.events.stream-recheck:10s}") Duration recheck) {
        this.database = database;
        this.access = access;
        this.query = query;
        this.json = json;
        this.heartbeat = heartbeat;
        this.authenticator = authenticator;
        this.recheck = recheck;
        this.listener = Thread.ofPlatform().daemon().name("clawfence-event-listener").start(this::listen);
    }

    /**
     * The ingest side, inside the transaction that stored a batch (which must have stored events): logs
     * the batch from the ingest stage table and notifies on commit. Public for the ingest benchmark.
     */
    public static void recordBatch(Connection connection, UUID tenant, UUID instance) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("""
                insert into event_stream_batches (tenant_id, instance_id, first_sequence, last_sequence, first_time, last_time)
                select ?, ?, min(sequence), max(sequence), min(time), max(time) from %s;
                select pg_notify('%s', ?)""".formatted(EventStore.STAGE, CHANNEL))) {
            insert.setObject(1, tenant);
            insert.setObject(2, instance);
            insert.setString(3, tenant.toString());
            insert.execute();
        }
    }

    /**
     * The stream of {@code tenant}'s new events matching {@code filter}, from {@code after} (a
     * Last-Event-ID) or from now, for as long as {@code authorization} (the request's header, which made
     * {@code caller}) stays valid. The caller has checked access and the filter already.
     */
    public Publisher<Event<String>> open(Caller caller, String authorization, String tenantParam, UUID tenant,
            EventFilter filter, Position after) {
        return Flux.create(sink -> {
            Semaphore wake = new Semaphore(0);
            Semaphore demand = new Semaphore(0);
            sink.onRequest(n -> demand.release((int) Math.min(n, 1 << 20)));
            sink.onDispose(() -> {
                wake.release();
                demand.release(1 << 20);
            });
            subscribers.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet()).add(wake);
            Thread.ofVirtual().name("event-stream-" + tenant).start(() -> {
                try {
                    follow(sink, caller, authorization, tenantParam, filter, after, wake, demand);
                } catch (RuntimeException e) {
                    if (!sink.isCancelled()) {
                        LOG.warn("Event stream of tenant {} failed", tenant, e);
                        sink.error(e);
                    }
                } finally {
                    subscribers.computeIfPresent(tenant, (t, set) -> {
                        set.remove(wake);
                        return set.isEmpty() ? null : set;
                    });
                }
            });
        });
    }

    private void follow(FluxSink<Event<String>> sink, Caller caller, String authorization, String tenantParam,
            EventFilter filter, Position after, Semaphore wake, Semaphore demand) {
        Position position = after != null ? after
                : access.read(caller, tenantParam, tx -> new Position(
                        tx.sql().fetchSingle("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint").get(0, Long.class), 0, 0));
        long lastSent = System.nanoTime();
        long nextRecheck = System.nanoTime() + recheck.toNanos();
        while (!sink.isCancelled()) {
            if (System.nanoTime() - nextRecheck >= 0) {
                if (!stillAuthorized(caller, authorization)) {
                    send(sink, demand, Event.of("").comment("the API token was revoked; the stream ends"));
                    sink.complete();
                    return;
                }
                nextRecheck = System.nanoTime() + recheck.toNanos();
            }
            Position from = position;
            List<Delivery> deliveries = access.read(caller, tenantParam, tx -> poll(tx.sql(), tx.tenantId(), filter, from));
            for (Delivery delivery : deliveries) {
                for (EventQuery.Item item : delivery.items()) {
                    if (!send(sink, demand, Event.of(serialize(item)).id(delivery.position(item.sequence()).text()))) {
                        return;
                    }
                    lastSent = System.nanoTime();
                }
                position = delivery.end();
            }
            if (deliveries.size() == BATCHES_PER_POLL) {
                continue;
            }
            long idle = System.nanoTime() - lastSent;
            long untilHeartbeat = heartbeat.toNanos() - idle;
            if (untilHeartbeat <= 0) {
                // A comment line: keeps proxies from closing an idle stream, and dispatches no event.
                if (!send(sink, demand, Event.of("").comment("heartbeat"))) {
                    return;
                }
                lastSent = System.nanoTime();
                untilHeartbeat = heartbeat.toNanos();
            }
            try {
                wake.tryAcquire(Math.min(POLL.toNanos(), untilHeartbeat), TimeUnit.NANOSECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private boolean stillAuthorized(Caller caller, String authorization) {
        return authenticator.authenticate(authorization, caller.remoteAddress())
                .filter(now -> now.tokenId().equals(caller.tokenId()) && now.role() == caller.role())
                .isPresent();
    }

    /** The events of one logged batch to send, and the position once all of it is handled. */
    private record Delivery(long xid, long id, List<EventQuery.Item> items, Position end) {
        Position position(long sequence) {
            return new Position(xid, id, sequence);
        }
    }

    private List<Delivery> poll(org.jooq.DSLContext sql, UUID tenant, EventFilter filter, Position from) {
        var batches = sql.resultQuery("""
                select xid, id, instance_id, first_sequence, last_sequence, first_time, last_time
                  from event_stream_batches
                 where tenant_id = {0} and (xid, id) >= ({1}, {2})
                   and xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                 order by xid, id
                 limit {3}""", DSL.val(tenant), DSL.val(from.xid()), DSL.val(from.id()), DSL.val(BATCHES_PER_POLL))
                .coerce(DSL.field("xid", Long.class), DSL.field("id", Long.class), DSL.field("instance_id", UUID.class),
                        DSL.field("first_sequence", Long.class), DSL.field("last_sequence", Long.class),
                        DSL.field("first_time", OffsetDateTime.class), DSL.field("last_time", OffsetDateTime.class))
                .fetch();
        List<Delivery> deliveries = new java.util.ArrayList<>();
        for (Record7<Long, Long, UUID, Long, Long, OffsetDateTime, OffsetDateTime> b : batches) {
            long xid = b.value1();
            long id = b.value2();
            long first = b.value4();
            long last = b.value5();
            if (xid == from.xid() && id == from.id()) {
                first = Math.max(first, from.sequence() + 1);
            }
            List<EventQuery.Item> items = first > last ? List.of()
                    : query.batch(sql, tenant, filter, b.value3(), first, last, b.value6(), b.value7());
            deliveries.add(new Delivery(xid, id, items, new Position(xid, id, last)));
        }
        return deliveries;
    }

    private static boolean send(FluxSink<Event<String>> sink, Semaphore demand, Event<String> event) {
        try {
            demand.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (sink.isCancelled()) {
            return false;
        }
        sink.next(event);
        return true;
    }

    private String serialize(EventQuery.Item item) {
        try {
            return json.writeValueAsString(item);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** This replica's LISTEN connection: wakes the notified tenant's subscribers; also trims the log. */
    private void listen() {
        long backoff = 100;
        long nextTrim = 0;
        while (running) {
            try (Connection connection = database.openDedicatedConnection()) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("listen " + CHANNEL);
                }
                backoff = 100;
                PGConnection pg = connection.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] notifications = pg.getNotifications(500);
                    if (notifications != null) {
                        for (PGNotification notification : notifications) {
                            wake(notification.getParameter());
                        }
                    }
                    if (System.nanoTime() - nextTrim > 0) {
                        trim();
                        nextTrim = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                // Subscribers keep polling meanwhile; only the instant wake-up is lost.
                LOG.warn("Event stream listener lost its database connection ({}); reconnecting in {} ms", e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    return;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private void wake(String payload) {
        try {
            Set<Semaphore> set = subscribers.get(UUID.fromString(payload));
            if (set != null) {
                set.forEach(Semaphore::release);
            }
        } catch (IllegalArgumentException e) {
            LOG.warn("Ignoring notification {} with payload {}", CHANNEL, payload);
        }
    }

    private void trim() {
        try {
            int deleted = database.asOwner(sql -> sql.execute(
                    "delete from event_stream_batches where created_at < now() - {0}::interval",
                    DSL.val(KEPT.toSeconds() + " seconds")));
            if (deleted > 0) {
                LOG.debug("Trimmed {} batches from the event stream log", deleted);
            }
        } catch (RuntimeException e) {
            LOG.warn("Cannot trim the event stream log; retrying in an hour", e);
        }
    }

    @PreDestroy
    @Override
    public void close() {
        running = false;
        listener.interrupt();
        try {
            listener.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
