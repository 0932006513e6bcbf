package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.RuleCount;
import dev.clawfence.proto.agent.v1.RuleCounters;
import dev.clawfence.proto.agent.v1.Verdict;
import jakarta.inject.Singleton;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jooq.exception.DataAccessException;

/**
 * Stores an agent's kernel counter deltas ({@code AgentMessage.rule_counters}) in
 * {@code rule_counter_minute}: the exact number of attempts per direction, verdict, reason and rule,
 * against which the summary sets the stored ("shown") events. Deltas are booked in the UTC minute of
 * their interval's end; an end too far ahead of this clock is booked now, and one older than the
 * tenant's event retention is dropped, as events are.
 */
@Singleton
public final class KernelCounters {

    private final Clock clock;
    private final int retentionDays;
    private final Duration futureTolerance;

    public KernelCounters(EventsConfiguration config) {
        this(Clock.systemUTC(), config.retentionDaysOrDefault(), config.futureToleranceOrDefault());
    }

    KernelCounters(Clock clock, int retentionDays, Duration futureTolerance) {
        this.clock = clock;
        this.retentionDays = retentionDays;
        this.futureTolerance = futureTolerance;
    }

    private record Key(String direction, String verdict, String reason, String rule) {}

    /**
     * Adds {@code counters} of {@code instance} in the tenant transaction {@code tx}; returns the
     * attempts stored.
     *
     * @throws InvalidRuleCountersException naming every field that breaks the contract (nothing stored)
     */
    public long store(TenantTransaction tx, UUID instance, RuleCounters counters) {
        check(counters);
        Instant now = clock.instant();
        Instant end = Instant.ofEpochMilli(counters.getToEpochMillis());
        if (end.isAfter(now.plus(futureTolerance))) {
            end = now;
        }
        if (end.isBefore(EventPartitions.retainedFrom(now, EventRetention.days(tx, retentionDays)))) {
            return 0;
        }
        Map<Key, Long> sums = new LinkedHashMap<>();
        for (RuleCount count : counters.getCountsList()) {
            if (count.getAttempts() > 0) {
                Key key = new Key(count.getDirection() == Direction.DIRECTION_INBOUND ? "inbound" : "outbound",
                        EventStore.verdict(count.getVerdict()), count.getReason(), count.getRuleId());
                sums.merge(key, count.getAttempts(), Long::sum);
            }
        }
        java.time.OffsetDateTime minute = end.truncatedTo(ChronoUnit.MINUTES).atOffset(java.time.ZoneOffset.UTC);
        if (counters.getEventsLostAtCapture() > 0 || counters.getCaptureOverruns() > 0) {
            tx.sql().execute("insert into event_capture_losses_minute as t (tenant_id, instance_id, minute, events_lost, overruns)"
                    + " values (?, ?, ?::timestamptz, ?, ?) on conflict (tenant_id, instance_id, minute) do update"
                    + " set events_lost = t.events_lost + excluded.events_lost, overruns = t.overruns + excluded.overruns",
                    tx.tenantId(), instance, minute, counters.getEventsLostAtCapture(), counters.getCaptureOverruns());
        }
        if (sums.isEmpty()) {
            return 0;
        }
        return tx.sql().connectionResult(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    insert into rule_counter_minute as t (tenant_id, instance_id, minute, direction, verdict, reason, rule_id, attempts)
                    select ?, ?, ?, d, v, r, i, n from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[]) as u(d, v, r, i, n)
                    on conflict (tenant_id, instance_id, minute, direction, verdict, reason, rule_id) do update
                       set attempts = t.attempts + excluded.attempts""")) {
                int n = sums.size();
                String[][] text = new String[4][n];
                Long[] attempts = new Long[n];
                int i = 0;
                long total = 0;
                for (Map.Entry<Key, Long> e : sums.entrySet()) {
                    text[0][i] = e.getKey().direction();
                    text[1][i] = e.getKey().verdict();
                    text[2][i] = e.getKey().reason();
                    text[3][i] = e.getKey().rule();
                    attempts[i] = e.getValue();
                    total += e.getValue();
                    i++;
                }
                s.setObject(1, tx.tenantId());
                s.setObject(2, instance);
                s.setObject(3, minute);
                for (int col = 0; col < 4; col++) {
                    s.setArray(4 + col, c.createArrayOf("text", text[col]));
                }
                s.setArray(8, c.createArrayOf("bigint", attempts));
                s.executeUpdate();
                return total;
            } catch (SQLException e) {
                throw new DataAccessException("cannot store the rule counters of instance " + instance, e);
            }
        });
    }

    /** Throws {@link InvalidRuleCountersException} listing every problem of {@code counters}. */
    static void check(RuleCounters counters) {
        List<String> problems = new ArrayList<>();
        if (counters.getToEpochMillis() <= 0) {
            problems.add("rule_counters.to_epoch_millis: " + counters.getToEpochMillis() + " is not a time after 1970");
        } else if (counters.getFromEpochMillis() > counters.getToEpochMillis()) {
            problems.add("rule_counters.from_epoch_millis: " + counters.getFromEpochMillis()
                    + " is after to_epoch_millis " + counters.getToEpochMillis());
        }
        for (int i = 0; i < counters.getCountsCount(); i++) {
            RuleCount count = counters.getCounts(i);
            String at = "rule_counters.counts[" + i + "].";
            if (count.getDirection() != Direction.DIRECTION_INBOUND && count.getDirection() != Direction.DIRECTION_OUTBOUND) {
                problems.add(at + "direction: " + count.getDirectionValue() + " is not a known direction (inbound 1, outbound 2)");
            }
            if (count.getVerdict() != Verdict.VERDICT_ALLOWED && count.getVerdict() != Verdict.VERDICT_BLOCKED
                    && count.getVerdict() != Verdict.VERDICT_WOULD_BLOCK) {
                problems.add(at + "verdict: " + count.getVerdictValue()
                        + " is not a known verdict (allowed 1, blocked 2, would-block 3)");
            }
            text(problems, at + "reason", count.getReason(), EventBatchCheck.MAX_REASON);
            text(problems, at + "rule_id", count.getRuleId(), EventBatchCheck.MAX_RULE_ID);
            if (count.getAttempts() < 0) {
                // uint64 on the wire: beyond Long.MAX_VALUE it reads negative here, and no interval holds that many.
                problems.add(at + "attempts: " + Long.toUnsignedString(count.getAttempts()) + " is beyond any real count");
            }
        }
        if (counters.getEventsLostAtCapture() < 0) {
            problems.add("rule_counters.events_lost_at_capture: " + Long.toUnsignedString(counters.getEventsLostAtCapture())
                    + " is beyond any real count");
        }
        if (counters.getCaptureOverruns() < 0) {
            problems.add("rule_counters.capture_overruns: " + Long.toUnsignedString(counters.getCaptureOverruns())
                    + " is beyond any real count");
        }
        if (!problems.isEmpty()) {
            throw new InvalidRuleCountersException(problems);
        }
    }

    private static void text(List<String> problems, String path, String value, int max) {
        if (value.length() > max) {
            problems.add(path + ": " + value.length() + " characters is longer than " + max);
        }
        if (value.indexOf('\0') >= 0) {
            problems.add(path + ": contains a NUL character");
        }
    }
}
