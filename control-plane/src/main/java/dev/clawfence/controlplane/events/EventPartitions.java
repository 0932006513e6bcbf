package dev.clawfence.controlplane.events;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the day partitions of {@code connection_events} (UTC days): one for every retained day and
 * {@code daysAhead} days to come, each with the parent's row-level security, and none older than the
 * retention. Runs on a connection of the owner role (only the owner may create and drop partitions)
 * inside its transaction; idempotent, and a transaction-scoped advisory lock makes a second replica
 * running it at the same time skip instead of racing.
 */
public final class EventPartitions {

    /** Key of the advisory lock ("clawev01"), shared by every replica. */
    static final long LOCK = 0x636c_6177_6576_3031L;
    static final String PREFIX = "connection_events_p";
    private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;

    private EventPartitions() {}

    /** What one maintenance run did; {@code skipped} when another session held the lock. */
    public record Maintenance(boolean skipped, List<String> created, List<String> dropped) {}

    /** The oldest retained instant: the start of the UTC day {@code retentionDays} before {@code now}'s. */
    public static Instant retainedFrom(Instant now, int retentionDays) {
        return LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(retentionDays).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** The name of the partition holding {@code day}. */
    public static String partitionName(LocalDate day) {
        return PREFIX + DAY.format(day);
    }

    /**
     * Creates the missing partitions from the oldest retained day to {@code daysAhead} days after
     * {@code now}'s, and drops the ones wholly before the retention.
     */
    public static Maintenance maintain(Connection owner, Instant now, int retentionDays, int daysAhead)
            throws SQLException {
        try (Statement s = owner.createStatement()) {
            // Partition DDL locks the parent; waiting long behind ingest would stall ingest queued behind us.
            s.execute("set local lock_timeout = '10s'");
            try (ResultSet rs = s.executeQuery("select pg_try_advisory_xact_lock(" + LOCK + ")")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return new Maintenance(true, List.of(), List.of());
                }
            }
        }
        LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
        LocalDate oldest = today.minusDays(retentionDays);
        List<String> existing = existing(owner);
        List<String> created = new ArrayList<>();
        for (LocalDate day = oldest; !day.isAfter(today.plusDays(daysAhead)); day = day.plusDays(1)) {
            String name = partitionName(day);
            if (!existing.contains(name)) {
                create(owner, name, day);
                created.add(name);
            }
        }
        List<String> dropped = new ArrayList<>();
        for (String name : existing) {
            LocalDate day = LocalDate.parse(name.substring(PREFIX.length()), DAY);
            if (day.isBefore(oldest)) {
                try (Statement s = owner.createStatement()) {
                    s.execute("drop table " + name);
                }
                dropped.add(name);
            }
        }
        return new Maintenance(false, created, dropped);
    }

    private static List<String> existing(Connection owner) throws SQLException {
        List<String> names = new ArrayList<>();
        try (PreparedStatement s = owner.prepareStatement("""
                select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'public.connection_events'::regclass order by c.relname""");
                ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                if (rs.getString(1).matches(PREFIX + "\\d{8}")) {
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }

    private static void create(Connection owner, String name, LocalDate day) throws SQLException {
        String from = day.atStartOfDay(ZoneOffset.UTC).toInstant().toString();
        String to = day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toString();
        try (Statement s = owner.createStatement()) {
            s.execute("create table " + name + " partition of connection_events for values from ('" + from + "') to ('" + to + "')");
            // Reads through the parent use the parent's policy; these keep a partition named directly
            // just as closed (the catalogue check in RowLevelSecurityIT holds partitions to it too).
            s.execute("alter table " + name + " enable row level security");
            s.execute("alter table " + name + " force row level security");
            s.execute("create policy tenant_isolation on " + name
                    + " using (tenant_id = (select nullif(current_setting('clawfence.tenant_id', true), '')::uuid))"
                    + " with check (tenant_id = (select nullif(current_setting('clawfence.tenant_id', true), '')::uuid))");
        }
    }
}
