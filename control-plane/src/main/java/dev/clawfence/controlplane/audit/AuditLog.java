package dev.clawfence.controlplane.audit;

import static dev.clawfence.controlplane.database.jooq.Tables.AUDIT_LOG;
import static dev.clawfence.controlplane.database.jooq.Tables.PLATFORM_AUDIT_LOG;

import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;


/**
 * Writes and reads audit entries. A tenant's entry is written in the same transaction as the change it
 * describes, so there is no change without its entry; platform entries (no tenant) go to their own table.
 */
@Singleton
public final class AuditLog {

    /** One audit entry as the API shows it. */
    public record Entry(long id, OffsetDateTime at, Map<String, String> actor, String action, String target,
            String detail, String remoteAddress) {}

    /** A page of entries, newest first, and the cursor of the next page (null at the end). */
    public record Page(List<Entry> items, String nextCursor) {}

    private final Database database;

    public AuditLog(Database database) {
        this.database = database;
    }

    public void record(TenantTransaction tx, String action, String target, String detail) {
        Caller caller = tx.caller();
        tx.sql().insertInto(AUDIT_LOG)
                .set(AUDIT_LOG.TENANT_ID, tx.tenantId())
                .set(AUDIT_LOG.ACTOR_KIND, caller.kindName())
                .set(AUDIT_LOG.ACTOR_ID, caller.tokenId() == null ? null : caller.tokenId().toString())
                .set(AUDIT_LOG.ACTOR_NAME, caller.name())
                .set(AUDIT_LOG.ACTION, action)
                .set(AUDIT_LOG.TARGET, target)
                .set(AUDIT_LOG.DETAIL, detail)
                .set(AUDIT_LOG.REMOTE_ADDRESS, caller.remoteAddress())
                .execute();
    }

    /** Records a platform admin action that belongs to no tenant (e.g. listing tenants). */
    public void recordPlatform(Caller caller, String action, String target, String detail) {
        database.withoutTenant(sql -> sql.insertInto(PLATFORM_AUDIT_LOG)
                .set(PLATFORM_AUDIT_LOG.ACTOR_KIND, caller.kindName())
                .set(PLATFORM_AUDIT_LOG.ACTOR_ID, caller.tokenId() == null ? null : caller.tokenId().toString())
                .set(PLATFORM_AUDIT_LOG.ACTOR_NAME, caller.name())
                .set(PLATFORM_AUDIT_LOG.ACTION, action)
                .set(PLATFORM_AUDIT_LOG.TARGET, target)
                .set(PLATFORM_AUDIT_LOG.DETAIL, detail)
                .set(PLATFORM_AUDIT_LOG.REMOTE_ADDRESS, caller.remoteAddress())
                .execute());
    }

    /** The tenant's entries older than {@code beforeId} (or the newest), at most {@code limit}. */
    public Page read(TenantTransaction tx, int limit, Long beforeId) {
        var rows = tx.sql().selectFrom(AUDIT_LOG)
                .where(AUDIT_LOG.TENANT_ID.eq(tx.tenantId()))
                .and(beforeId == null ? AUDIT_LOG.ID.isNotNull() : AUDIT_LOG.ID.lt(beforeId))
                .orderBy(AUDIT_LOG.ID.desc())
                .limit(limit + 1)
                .fetch();
        List<Entry> items = rows.stream().limit(limit).map(r -> new Entry(r.getId(), r.getAt(),
                actor(r.getActorKind(), r.getActorId(), r.getActorName()), r.getAction(), r.getTarget(),
                r.getDetail(), r.getRemoteAddress())).toList();
        String next = rows.size() > limit ? String.valueOf(items.getLast().id()) : null;
        return new Page(items, next);
    }

    private static Map<String, String> actor(String kind, String id, String name) {
        return id == null ? Map.of("kind", kind, "name", name) : Map.of("kind", kind, "id", id, "name", name);
    }

}
