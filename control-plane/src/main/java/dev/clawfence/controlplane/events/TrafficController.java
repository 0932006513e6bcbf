package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.UUID;

/**
 * The rollup endpoints under {@code /api/v1/tenants/{tenant}/network}: the event summary, per-rule hits,
 * top sources and destinations, flagged traffic. Times are ISO-8601 instants; ranges are {@code [from,
 * to)}, {@code to} defaulting to now. Thin: parses and checks parameters, then asks {@link TrafficReports}.
 */
@Controller("/api/v1/tenants/{tenant}/network")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class TrafficController {

    static final int DEFAULT_TOP = 10;
    static final int MAX_TOP = 100;
    /** Most points one summary series may have per direction and verdict (a week of minutes). */
    static final long MAX_POINTS = 7 * 24 * 60;
    private static final Map<String, Duration> BUCKETS = Map.of(
            "minute", Duration.ofMinutes(1), "hour", Duration.ofHours(1), "day", Duration.ofDays(1));

    private final TenantAccess access;
    private final TrafficReports reports;
    private final PolicyVersions versions;
    private final EventRetention retention;
    private final Clock clock = Clock.systemUTC();

    public TrafficController(TenantAccess access, TrafficReports reports, PolicyVersions versions, EventRetention retention) {
        this.access = access;
        this.reports = reports;
        this.versions = versions;
        this.retention = retention;
    }

    /** Stored events per bucket by direction and verdict, with totals, against the kernel's exact counts. */
    @Get("/events/summary")
    public TrafficReports.Summary summary(HttpRequest<?> request, String tenant, @Nullable @QueryValue String from,
            @Nullable @QueryValue String to, @Nullable @QueryValue String bucket, @Nullable @QueryValue String instance) {
        Range range = range(from, to, Duration.ofHours(24));
        String unit = bucket == null || bucket.isBlank() ? "hour" : bucket;
        Duration width = BUCKETS.get(unit);
        if (width == null) {
            throw ApiProblem.badRequest("bucket", "\"" + bucket + "\" is not one of minute, hour, day");
        }
        if (Duration.between(range.from(), range.to()).dividedBy(width) > MAX_POINTS) {
            throw ApiProblem.badRequest("bucket", "\"" + unit + "\" gives more than " + MAX_POINTS
                    + " points over this range; choose a larger bucket or a shorter range");
        }
        UUID only = instance == null || instance.isBlank() ? null : Ids.parse("instance", instance);
        return access.read(Caller.of(request), tenant, tx -> reports.summary(tx, range.from(), range.to(), unit, only));
    }

    /** Each allowlist entry and destination of the current policy with its hits, last hit, and whether it is stale. */
    @Get("/rules/hits")
    public TrafficReports.RuleHits ruleHits(HttpRequest<?> request, String tenant, @Nullable @QueryValue String staleDays) {
        Instant now = clock.instant();
        return access.read(Caller.of(request), tenant, tx -> {
            int kept = retention.days(tx);
            int days = staleDays == null || staleDays.isBlank() ? Math.min(30, kept) : number("staleDays", staleDays, 1, kept,
                    " (hits are kept for the event retention, " + kept + " days)");
            return reports.ruleHits(tx, versions.current(tx), days, now);
        });
    }

    /** The sources of the most inbound attempts (of one verdict, e.g. {@code verdict=blocked}). */
    @Get("/traffic/top-sources")
    public TrafficReports.Sources topSources(HttpRequest<?> request, String tenant, @Nullable @QueryValue String verdict,
            @Nullable @QueryValue String from, @Nullable @QueryValue String to, @Nullable @QueryValue String limit) {
        Range range = range(from, to, Duration.ofHours(24));
        String v = verdict(verdict);
        int n = limit(limit);
        return access.read(Caller.of(request), tenant, tx -> reports.topSources(tx, range.from(), range.to(), v, n));
    }

    /** The destinations (address and port) of the most outbound attempts (of one verdict, when given). */
    @Get("/traffic/top-destinations")
    public TrafficReports.Destinations topDestinations(HttpRequest<?> request, String tenant, @Nullable @QueryValue String verdict,
            @Nullable @QueryValue String from, @Nullable @QueryValue String to, @Nullable @QueryValue String limit) {
        Range range = range(from, to, Duration.ofHours(24));
        String v = verdict(verdict);
        int n = limit(limit);
        return access.read(Caller.of(request), tenant, tx -> reports.topDestinations(tx, range.from(), range.to(), v, n));
    }

    /** Flagged traffic of the range (default: the last 7 days), each flag with a reason in words. */
    @Get("/flagged")
    public TrafficReports.Flagged flagged(HttpRequest<?> request, String tenant, @Nullable @QueryValue String from,
            @Nullable @QueryValue String to) {
        Range range = range(from, to, Duration.ofDays(7));
        return access.read(Caller.of(request), tenant, tx -> reports.flagged(tx, range.from(), range.to()));
    }

    record Range(Instant from, Instant to) {}

    private Range range(String from, String to, Duration defaultLength) {
        Instant end = to == null || to.isBlank() ? clock.instant() : instant("to", to);
        Instant start = from == null || from.isBlank() ? end.minus(defaultLength) : instant("from", from);
        if (!start.isBefore(end)) {
            throw ApiProblem.badRequest("from", "\"" + start + "\" is not before to (\"" + end + "\")");
        }
        return new Range(start, end);
    }

    private static Instant instant(String name, String value) {
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw ApiProblem.badRequest(name, "\"" + value + "\" is not an ISO-8601 UTC time such as 2026-11-24T15:00:00Z");
        }
    }

    private static String verdict(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        if (!value.equals("allowed") && !value.equals("blocked") && !value.equals("would-block")) {
            throw ApiProblem.badRequest("verdict", "\"" + value + "\" is not one of allowed, blocked, would-block");
        }
        return value;
    }

    private static int limit(String value) {
        return value == null || value.isBlank() ? DEFAULT_TOP : number("limit", value, 1, MAX_TOP, "");
    }

    private static int number(String name, String value, int min, int max, String why) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiProblem.badRequest(name, "\"" + value + "\" is not a number from " + min + " to " + max + why);
    }
}
