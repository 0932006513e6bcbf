package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.policy.PolicyVersion;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Destination;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jooq.Record;

/**
 * Read-only answers from the rollups (never from {@code connection_events}), in a transaction of the
 * tenant: the event summary, per-rule hits, top sources and destinations, and flagged traffic. Time
 * ranges are half-open, {@code [from, to)}; a range starting inside a rollup bucket includes that
 * whole bucket (minute, hour or day, as each table keeps it). Nothing older than the tenant's
 * retention ({@link EventRetention}) is counted, whatever the range.
 */
@Singleton
public final class TrafficReports {

    /** Most rows of each flag kind in one answer, the largest first. */
    static final int FLAGS_PER_KIND = 100;
    static final Duration NEW_SOURCE_WINDOW = Duration.ofDays(7);

    private final FlaggedConfiguration flagged;
    private final EventRetention retention;

    public TrafficReports(FlaggedConfiguration flagged, EventRetention retention) {
        this.flagged = flagged;
        this.retention = retention;
    }

    /**
     * {@code from}, or the start of the tenant's retention when later: rollup rows older than that may
     * still be stored until maintenance deletes them, but are never counted.
     */
    private Instant retained(TenantTransaction tx, Instant from) {
        Instant kept = retention.retainedFrom(tx);
        return from.isBefore(kept) ? kept : from;
    }

    /** One point of a summary series: events stored in the bucket starting at {@code time}. */
    public record Point(Instant time, String direction, String verdict, long events) {}

    /**
     * Totals of the range per direction and verdict: {@code shown} events stored, {@code attempts} the
     * kernel counted (null when no agent reported counters for the range).
     */
    public record Total(String direction, String verdict, long shown, Long attempts) {}

    /**
     * Events lost on the way from the kernel to the table in the range, by where: {@code spool} the agents'
     * spools dropped or found corrupt (by when the control plane heard of it), {@code capture} the agents'
     * NFLOG capture missed, with {@code captureOverruns} receive-buffer overflows. The log rate limit's
     * drops are not losses: they are {@code attempts} minus {@code shown}.
     */
    public record Losses(long spool, long capture, long captureOverruns) {}

    public record Summary(Instant from, Instant to, String bucket, UUID instance, List<Point> series, List<Total> totals,
            long shown, Long attempts, Losses losses) {}

    /** Builds the summary of {@code [from, to)} in buckets of {@code bucket} (minute, hour, day), of one instance or all. */
    public Summary summary(TenantTransaction tx, Instant requestedFrom, Instant to, String bucket, UUID instance) {
        Instant from = retained(tx, requestedFrom);
        String where = " where minute >= date_trunc('minute', {0}) and minute < {1}" + (instance == null ? "" : " and instance_id = {2}");
        Object[] binds = instance == null ? new Object[] {at(from), at(to)} : new Object[] {at(from), at(to), instance};
        List<Point> series = new ArrayList<>();
        Map<String, long[]> shown = new LinkedHashMap<>();
        for (String direction : List.of("inbound", "outbound")) {
            for (String verdict : List.of("allowed", "blocked", "would-block")) {
                shown.put(direction + " " + verdict, new long[1]);
            }
        }
        long shownAll = 0;
        for (Record r : tx.sql().fetch("select date_trunc('" + bucket + "', minute, 'UTC'), direction, verdict, sum(events)::bigint"
                + " from event_counts_minute" + where + " group by 1, 2, 3 order by 1, 2, 3", binds)) {
            long events = r.get(3, Long.class);
            series.add(new Point(instant(r.get(0, OffsetDateTime.class)), r.get(1, String.class), r.get(2, String.class), events));
            shown.get(r.get(1, String.class) + " " + r.get(2, String.class))[0] += events;
            shownAll += events;
        }
        Map<String, Long> counted = new HashMap<>();
        for (Record r : tx.sql().fetch("select direction, verdict, sum(attempts)::bigint from rule_counter_minute" + where
                + " group by 1, 2", binds)) {
            counted.put(r.get(0, String.class) + " " + r.get(1, String.class), r.get(2, Long.class));
        }
        List<Total> totals = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shown.entrySet()) {
            String[] key = e.getKey().split(" ");
            totals.add(new Total(key[0], key[1], e.getValue()[0], counted.isEmpty() ? null : counted.getOrDefault(e.getKey(), 0L)));
        }
        Long attempts = counted.isEmpty() ? null : counted.values().stream().mapToLong(Long::longValue).sum();
        Record spool = tx.sql().fetchOne("select coalesce(sum(count), 0)::bigint from event_losses"
                + " where received_at >= {0} and received_at < {1}" + (instance == null ? "" : " and instance_id = {2}"), binds);
        Record capture = tx.sql().fetchOne("select coalesce(sum(events_lost), 0)::bigint, coalesce(sum(overruns), 0)::bigint"
                + " from event_capture_losses_minute" + where, binds);
        Losses losses = new Losses(spool.get(0, Long.class), capture.get(0, Long.class), capture.get(1, Long.class));
        return new Summary(requestedFrom, to, bucket, instance, series, totals, shownAll, attempts, losses);
    }

    /**
     * One tenant rule's hits: stored events it decided (kept as long as events are), the last one, and
     * whether it is stale. {@code direction} and {@code target} are null for a rule no longer in the policy.
     */
    public record RuleHit(String ruleId, String direction, String target, String description, long hits,
            Instant lastHitAt, boolean stale) {}

    public record RuleHits(int policyVersion, int staleDays, List<RuleHit> items, List<RuleHit> removedRules) {}

    /**
     * Every allowlist entry and destination of {@code current} with its hits. A rule is stale when it has
     * had no hit in {@code staleDays} days and is older than that (a rule added yesterday is not stale yet).
     * {@code removedRules} are rule ids with hits that the current policy no longer has.
     */
    public RuleHits ruleHits(TenantTransaction tx, PolicyVersion current, int staleDays, Instant now) {
        Map<String, Object[]> hits = new HashMap<>();
        java.time.LocalDate keptDay = retention.retainedFrom(tx).atOffset(ZoneOffset.UTC).toLocalDate();
        for (Record r : tx.sql().fetch("select rule_id, sum(hits)::bigint, max(last_hit_at) from rule_hits_daily"
                + " where day >= {0} group by rule_id", keptDay)) {
            hits.put(r.get(0, String.class), new Object[] {r.get(1, Long.class), instant(r.get(2, OffsetDateTime.class))});
        }
        Instant cutoff = now.minus(Duration.ofDays(staleDays));
        List<RuleHit> items = new ArrayList<>();
        for (AllowlistEntry entry : current.document().inbound().allowlist()) {
            items.add(hit(entry.id(), "inbound", entry.cidr(), entry.description(), entry.provenance().createdAt(), hits, cutoff));
        }
        for (Destination destination : current.document().outbound().destinations()) {
            items.add(hit(destination.id(), "outbound", destination.target(), destination.description(),
                    destination.provenance().createdAt(), hits, cutoff));
        }
        List<RuleHit> removed = new ArrayList<>();
        hits.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> removed.add(new RuleHit(e.getKey(), null, null,
                null, (Long) e.getValue()[0], (Instant) e.getValue()[1], false)));
        return new RuleHits(current.version(), staleDays, items, removed);
    }

    private static RuleHit hit(String id, String direction, String target, String description, Instant createdAt,
            Map<String, Object[]> hits, Instant cutoff) {
        Object[] found = hits.remove(id);
        long count = found == null ? 0 : (Long) found[0];
        Instant last = found == null ? null : (Instant) found[1];
        boolean stale = (last == null || last.isBefore(cutoff)) && (createdAt == null || createdAt.isBefore(cutoff));
        return new RuleHit(id, direction, target, description, count, last, stale);
    }

    /** A source of inbound attempts in a range, with its attempts by verdict. */
    public record Source(String address, long attempts, long allowed, long blocked, long wouldBlock, long geo,
            Instant firstSeen, Instant lastSeen) {}

    public record Sources(Instant from, Instant to, String verdict, List<Source> items) {}

    /** The {@code limit} sources with the most inbound attempts of {@code verdict} (of any verdict when null). */
    public Sources topSources(TenantTransaction tx, Instant requestedFrom, Instant to, String verdict, int limit) {
        Instant from = retained(tx, requestedFrom);
        String order = order(verdict);
        List<Source> items = new ArrayList<>();
        for (Record r : tx.sql().fetch("""
                select host(address), sum(allowed)::bigint, sum(blocked)::bigint, sum(would_block)::bigint, sum(geo)::bigint,
                       min(first_seen), max(last_seen)
                  from traffic_sources_hourly where hour >= date_trunc('hour', {0}) and hour < {1}
                 group by address having sum(%1$s) > 0 order by sum(%1$s) desc, address limit {2}""".formatted(order),
                at(from), at(to), limit)) {
            long allowed = r.get(1, Long.class);
            long blocked = r.get(2, Long.class);
            long wouldBlock = r.get(3, Long.class);
            items.add(new Source(r.get(0, String.class), allowed + blocked + wouldBlock, allowed, blocked, wouldBlock,
                    r.get(4, Long.class), instant(r.get(5, OffsetDateTime.class)), instant(r.get(6, OffsetDateTime.class))));
        }
        return new Sources(requestedFrom, to, verdict, items);
    }

    /** A destination (address and port) of outbound attempts in a range, with its attempts by verdict. */
    public record DestinationCount(String address, int port, long attempts, long allowed, long blocked, long wouldBlock,
            long unknownDestination, Instant firstSeen, Instant lastSeen) {}

    public record Destinations(Instant from, Instant to, String verdict, List<DestinationCount> items) {}

    /** The {@code limit} destinations with the most outbound attempts of {@code verdict} (of any verdict when null). */
    public Destinations topDestinations(TenantTransaction tx, Instant requestedFrom, Instant to, String verdict, int limit) {
        Instant from = retained(tx, requestedFrom);
        String order = order(verdict);
        List<DestinationCount> items = new ArrayList<>();
        for (Record r : tx.sql().fetch("""
                select host(address), port, sum(allowed)::bigint, sum(blocked)::bigint, sum(would_block)::bigint,
                       sum(unknown)::bigint, min(first_seen), max(last_seen)
                  from traffic_destinations_hourly where hour >= date_trunc('hour', {0}) and hour < {1}
                 group by address, port having sum(%1$s) > 0 order by sum(%1$s) desc, address, port limit {2}""".formatted(order),
                at(from), at(to), limit)) {
            long allowed = r.get(2, Long.class);
            long blocked = r.get(3, Long.class);
            long wouldBlock = r.get(4, Long.class);
            items.add(new DestinationCount(r.get(0, String.class), r.get(1, Integer.class), allowed + blocked + wouldBlock,
                    allowed, blocked, wouldBlock, r.get(5, Long.class), instant(r.get(6, OffsetDateTime.class)),
                    instant(r.get(7, OffsetDateTime.class))));
        }
        return new Destinations(requestedFrom, to, verdict, items);
    }

    /**
     * One flagged source or destination: {@code kind} is many-blocked, port-probe, blocked-country,
     * unknown-destination or new-source; {@code ports} is the number of distinct ports for a port probe,
     * the port for an unknown destination, null otherwise; {@code message} says it in a sentence.
     */
    public record Flag(String kind, String source, String destination, Integer ports, long attempts, Instant firstSeen,
            Instant lastSeen, String message) {}

    public record Flagged(Instant from, Instant to, long manyBlocked, int probedPorts, List<Flag> items) {}

    /**
     * Flags traffic of {@code [from, to)}, computed from the rollups now (at most {@link #FLAGS_PER_KIND}
     * of each kind). A new source is one first seen in the 7 days before {@code to} and not in the
     * retained days before them.
     */
    public Flagged flagged(TenantTransaction tx, Instant requestedFrom, Instant to) {
        Instant kept = retention.retainedFrom(tx);
        Instant from = requestedFrom.isBefore(kept) ? kept : requestedFrom;
        long manyBlocked = flagged.manyBlockedOrDefault();
        int probedPorts = flagged.probedPortsOrDefault();
        List<Flag> items = new ArrayList<>();
        for (Record r : tx.sql().fetch("""
                select host(address), sum(blocked + would_block)::bigint, min(first_seen), max(last_seen)
                  from traffic_sources_hourly where hour >= date_trunc('hour', {0}) and hour < {1}
                 group by address having sum(blocked + would_block) >= {2}
                 order by 2 desc, address limit {3}""", at(from), at(to), manyBlocked, FLAGS_PER_KIND)) {
            long n = r.get(1, Long.class);
            items.add(new Flag("many-blocked", r.get(0, String.class), null, null, n, time(r, 2), time(r, 3),
                    "%s made %,d blocked connection attempts (%,d or more flag a source).".formatted(r.get(0, String.class), n,
                            manyBlocked)));
        }
        for (Record r : tx.sql().fetch("""
                select host(address), count(distinct port)::int, sum(attempts)::bigint, min(first_seen), max(last_seen)
                  from traffic_source_ports_daily where day >= ({0} at time zone 'UTC')::date and day < {1} at time zone 'UTC'
                 group by address having count(distinct port) >= {2}
                 order by 2 desc, 3 desc, address limit {3}""", at(from), at(to), probedPorts, FLAGS_PER_KIND)) {
            int ports = r.get(1, Integer.class);
            long n = r.get(2, Long.class);
            items.add(new Flag("port-probe", r.get(0, String.class), null, ports, n, time(r, 3), time(r, 4),
                    "%s tried %,d different closed ports (%,d refused attempts): it looks like a port scan."
                            .formatted(r.get(0, String.class), ports, n)));
        }
        for (Record r : tx.sql().fetch("""
                select host(address), sum(geo)::bigint, min(first_seen), max(last_seen)
                  from traffic_sources_hourly where hour >= date_trunc('hour', {0}) and hour < {1}
                 group by address having sum(geo) > 0 order by 2 desc, address limit {2}""", at(from), at(to), FLAGS_PER_KIND)) {
            long n = r.get(1, Long.class);
            items.add(new Flag("blocked-country", r.get(0, String.class), null, null, n, time(r, 2), time(r, 3),
                    "%s made %,d connection attempts from a country the policy's country rule refuses."
                            .formatted(r.get(0, String.class), n)));
        }
        for (Record r : tx.sql().fetch("""
                select host(address), port, sum(unknown)::bigint, min(first_seen), max(last_seen)
                  from traffic_destinations_hourly where hour >= date_trunc('hour', {0}) and hour < {1}
                 group by address, port having sum(unknown) > 0 order by 3 desc, address, port limit {2}""",
                at(from), at(to), FLAGS_PER_KIND)) {
            int port = r.get(1, Integer.class);
            long n = r.get(2, Long.class);
            items.add(new Flag("unknown-destination", null, r.get(0, String.class), port, n, time(r, 3), time(r, 4),
                    "Instances tried %,d times to reach %s port %d, which is not an allowed destination: possible data exfiltration."
                            .formatted(n, r.get(0, String.class), port)));
        }
        Instant weekStart = to.minus(NEW_SOURCE_WINDOW);
        for (Record r : tx.sql().fetch("""
                select host(address), sum(allowed + blocked + would_block)::bigint, min(first_seen), max(last_seen)
                  from traffic_sources_hourly where hour >= {3} and hour < {1}
                 group by address having min(first_seen) >= {0}
                 order by 2 desc, address limit {2}""", at(weekStart), at(to), FLAGS_PER_KIND, at(kept))) {
            long n = r.get(1, Long.class);
            items.add(new Flag("new-source", r.get(0, String.class), null, null, n, time(r, 2), time(r, 3),
                    "%s is new this week: first seen %s, never before in the kept history; %,d attempts since."
                            .formatted(r.get(0, String.class), time(r, 2), n)));
        }
        return new Flagged(requestedFrom, to, manyBlocked, probedPorts, items);
    }

    private static String order(String verdict) {
        if (verdict == null) {
            return "allowed + blocked + would_block";
        }
        return switch (verdict) {
            case "allowed" -> "allowed";
            case "blocked" -> "blocked";
            case "would-block" -> "would_block";
            default -> throw new IllegalArgumentException("not a verdict: " + verdict);
        };
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    private static Instant time(Record r, int column) {
        return instant(r.get(column, OffsetDateTime.class));
    }

    private static Instant instant(OffsetDateTime time) {
        return time == null ? null : time.toInstant();
    }
}
