package dev.clawfence.controlplane.tenancy;

import static dev.clawfence.controlplane.database.jooq.Tables.USERS;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.database.jooq.tables.records.UsersRecord;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import org.jooq.exception.IntegrityConstraintViolationException;

/** A tenant's users: people with a role ({@code owner}, {@code admin}, {@code viewer}) and a unique email. */
@Singleton
public final class Users {

    /** A user as the API shows it. */
    public record User(UUID id, String email, String name, String role, OffsetDateTime createdAt,
            OffsetDateTime updatedAt) {}

    private final AuditLog audit;

    public Users(AuditLog audit) {
        this.audit = audit;
    }

    public List<User> list(TenantTransaction tx) {
        return tx.sql().selectFrom(USERS).where(USERS.TENANT_ID.eq(tx.tenantId()))
                .orderBy(USERS.CREATED_AT, USERS.ID).fetch(Users::user);
    }

    public User get(TenantTransaction tx, UUID id) {
        return user(find(tx, id));
    }

    public User create(TenantTransaction tx, String email, String name, Role role) {
        UUID id = UUID.randomUUID();
        try {
            var row = tx.sql().insertInto(USERS)
                    .set(USERS.ID, id).set(USERS.TENANT_ID, tx.tenantId())
                    .set(USERS.EMAIL, email).set(USERS.NAME, name).set(USERS.ROLE, role.wireName())
                    .returning().fetchOne();
            audit.record(tx, "user.create", "user:" + id, "email=" + email + " role=" + role.wireName());
            return user(row);
        } catch (IntegrityConstraintViolationException e) {
            throw ApiProblem.conflict("A user with email " + email + " already exists in this tenant.");
        }
    }

    /** Changes the given fields (null keeps a field as it is). */
    public User update(TenantTransaction tx, UUID id, String email, String name, Role role) {
        UsersRecord row = find(tx, id);
        if (email != null) {
            row.setEmail(email);
        }
        if (name != null) {
            row.setName(name);
        }
        if (role != null) {
            row.setRole(role.wireName());
        }
        row.setUpdatedAt(OffsetDateTime.now());
        try {
            row.store();
        } catch (IntegrityConstraintViolationException e) {
            throw ApiProblem.conflict("A user with email " + email + " already exists in this tenant.");
        }
        audit.record(tx, "user.update", "user:" + id, "email=" + row.getEmail() + " role=" + row.getRole());
        return user(row);
    }

    public void delete(TenantTransaction tx, UUID id) {
        find(tx, id).delete();
        audit.record(tx, "user.delete", "user:" + id, null);
    }

    private static UsersRecord find(TenantTransaction tx, UUID id) {
        UsersRecord row = tx.sql().selectFrom(USERS).where(USERS.ID.eq(id).and(USERS.TENANT_ID.eq(tx.tenantId())))
                .fetchOne();
        if (row == null) {
            throw ApiProblem.notFound("There is no user " + id + " in this tenant.");
        }
        return row;
    }

    private static User user(UsersRecord r) {
        return new User(r.getId(), r.getEmail(), r.getName(), r.getRole(), r.getCreatedAt(), r.getUpdatedAt());
    }
}
