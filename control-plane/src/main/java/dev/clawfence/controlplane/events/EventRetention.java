package dev.clawfence.controlplane.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.jooq.Record;

/**
 * A tenant's event retention: its own figure ({@code event_retention}, V012) or, without one, the
 * platform default {@code clawfence.events.retention-days}. Events (and rollup rows) older than the
 * start of the UTC day that many days ago are neither stored nor shown, and maintenance deletes them.
 * Every read takes the figure in its own transaction, so a change shows at once.
 */
@Singleton
public final class EventRetention {

    private final EventsConfiguration config;
    private final AuditLog audit;
    private final Clock clock = Clock.systemUTC();

    public EventRetention(EventsConfiguration config, AuditLog audit) {
        this.config = config;
        this.audit = audit;
    }

    /**
     * The retention as {@code GET …/network/events/settings} shows it: {@code default} is true when the
     * tenant has no figure of its own; {@code oldestRetained} is the oldest UTC day kept.
     */
    @JsonPropertyOrder({"retentionDays", "default", "maxRetentionDays", "oldestRetained"})
    public record Setting(int retentionDays, @JsonProperty("default") boolean platformDefault, int maxRetentionDays,
            String oldestRetained) {}

    /** The tenant's retention in days. */
    public int days(TenantTransaction tx) {
        return days(tx, config.retentionDaysOrDefault());
    }

    /** The tenant's retention in days, {@code defaultDays} when it has no figure of its own. */
    static int days(TenantTransaction tx, int defaultDays) {
        Record row = tx.sql().fetchOne("select retention_days from event_retention where tenant_id = {0}", tx.tenantId());
        return row == null ? defaultDays : row.get(0, Integer.class);
    }

    /** The oldest instant the tenant's reads may return: the start of the UTC day {@link #days} ago. */
    public Instant retainedFrom(TenantTransaction tx) {
        return EventPartitions.retainedFrom(clock.instant(), days(tx));
    }

    public Setting setting(TenantTransaction tx) {
        Record row = tx.sql().fetchOne("select retention_days from event_retention where tenant_id = {0}", tx.tenantId());
        int days = row == null ? config.retentionDaysOrDefault() : row.get(0, Integer.class);
        return setting(days, row == null);
    }

    /**
     * Sets the tenant's retention to {@code days}, or back to the platform default when null, and
     * audits the old and the new figure. The caller has checked the bounds.
     */
    public Setting change(TenantTransaction tx, Integer days) {
        Record old = tx.sql().fetchOne("select retention_days from event_retention where tenant_id = {0} for update",
                tx.tenantId());
        String before = old == null ? "default (" + config.retentionDaysOrDefault() + ")" : old.get(0, Integer.class).toString();
        if (days == null) {
            tx.sql().execute("delete from event_retention where tenant_id = {0}", tx.tenantId());
        } else {
            tx.sql().execute("""
                    insert into event_retention (tenant_id, retention_days) values ({0}, {1})
                    on conflict (tenant_id) do update set retention_days = excluded.retention_days, updated_at = now()""",
                    tx.tenantId(), days);
        }
        String after = days == null ? "default (" + config.retentionDaysOrDefault() + ")" : days.toString();
        audit.record(tx, "events.retention.update", "events:retention", "retentionDays " + before + " -> " + after);
        return setting(days == null ? config.retentionDaysOrDefault() : days, days == null);
    }

    private Setting setting(int days, boolean platformDefault) {
        LocalDate oldest = LocalDate.ofInstant(EventPartitions.retainedFrom(clock.instant(), days), ZoneOffset.UTC);
        return new Setting(days, platformDefault, config.maxRetentionDaysOrDefault(), oldest.toString());
    }

    /**
     * The tenant's figure as ingest needs it, on the ingest transaction's connection (the tenant's
     * row-level-security context): one primary-key lookup per batch; {@code defaultDays} without one.
     */
    static int days(Connection connection, UUID tenant, int defaultDays) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement("select retention_days from event_retention where tenant_id = ?")) {
            s.setObject(1, tenant);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getInt(1) : defaultDays;
            }
        }
    }

    /**
     * Every tenant's own figure, on an owner connection inside a transaction that has set
     * {@code clawfence.maintenance = 'expiry'} (the owner's only view across tenants).
     */
    static Map<UUID, Integer> all(Connection owner) throws SQLException {
        Map<UUID, Integer> figures = new HashMap<>();
        try (PreparedStatement s = owner.prepareStatement("select tenant_id, retention_days from event_retention");
                ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                figures.put(rs.getObject(1, UUID.class), rs.getInt(2));
            }
        }
        return figures;
    }
}
