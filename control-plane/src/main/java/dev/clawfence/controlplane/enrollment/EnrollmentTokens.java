package dev.clawfence.controlplane.enrollment;

import static dev.clawfence.controlplane.database.jooq.Tables.ENROLLMENT_TOKENS;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.jooq.Record;

/**
 * A tenant's enrolment tokens: minted (shown once, stored as the hash of their secret), listed without
 * their text, revoked for good, and consumed one use at a time when an agent enrols.
 */
@Singleton
public final class EnrollmentTokens {

    /** Default and bounds of a token's lifetime in seconds. */
    public static final long DEFAULT_EXPIRES_IN = 86_400;
    public static final long MIN_EXPIRES_IN = 60;
    public static final long MAX_EXPIRES_IN = 2_592_000;
    /** Default and bounds of a token's uses. */
    public static final int DEFAULT_MAX_USES = 1;
    public static final int MAX_MAX_USES = 1000;

    /** A token as listed: everything but its text. */
    public record TokenInfo(UUID id, String description, OffsetDateTime expiresAt, int maxUses, int uses,
            String createdBy, OffsetDateTime createdAt, OffsetDateTime lastUsedAt, OffsetDateTime revokedAt) {}

    /** A freshly minted token: the only time its text is shown. */
    public record MintedToken(UUID id, String token, String description, OffsetDateTime expiresAt, int maxUses,
            int uses) {}

    /** Why a token was refused at enrolment. */
    public enum Refusal {
        UNKNOWN("the enrolment token is not known (mistyped, or issued by another control plane)"),
        REVOKED("the enrolment token has been revoked; ask the tenant for a new one"),
        EXPIRED("the enrolment token has expired; ask the tenant for a new one"),
        USED_UP("the enrolment token has been used as many times as it allows; ask the tenant for a new one");

        private final String description;

        Refusal(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    /** The token was refused; {@link #refusal()} says why. */
    public static final class RefusedToken extends Exception {
        private final Refusal refusal;

        RefusedToken(Refusal refusal) {
            super(refusal.description());
            this.refusal = refusal;
        }

        public Refusal refusal() {
            return refusal;
        }
    }

    /** One use of a token, consumed: the tenant it enrols into. */
    public record Consumed(UUID tenantId, UUID tokenId) {}

    private final AuditLog audit;
    private final CertificateAuthority authority;
    private final Database database;

    public EnrollmentTokens(AuditLog audit, CertificateAuthority authority, Database database) {
        this.audit = audit;
        this.authority = authority;
        this.database = database;
    }

    public MintedToken mint(TenantTransaction tx, String description, long expiresInSeconds, int maxUses) {
        EnrollmentToken token = EnrollmentToken.generate(authority.pin());
        UUID id = UUID.randomUUID();
        OffsetDateTime expiresAt = OffsetDateTime.now().plusSeconds(expiresInSeconds).truncatedTo(ChronoUnit.MICROS);
        tx.sql().insertInto(ENROLLMENT_TOKENS)
                .set(ENROLLMENT_TOKENS.ID, id)
                .set(ENROLLMENT_TOKENS.TENANT_ID, tx.tenantId())
                .set(ENROLLMENT_TOKENS.DESCRIPTION, description)
                .set(ENROLLMENT_TOKENS.TOKEN_HASH, token.secretHash())
                .set(ENROLLMENT_TOKENS.EXPIRES_AT, expiresAt)
                .set(ENROLLMENT_TOKENS.MAX_USES, maxUses)
                .set(ENROLLMENT_TOKENS.CREATED_BY, tx.caller().actor())
                .execute();
        audit.record(tx, "enrollment-token.create", "enrollment-token:" + id,
                "maxUses=" + maxUses + " expiresAt=" + expiresAt);
        return new MintedToken(id, token.toString(), description, expiresAt, maxUses, 0);
    }

    public List<TokenInfo> list(TenantTransaction tx) {
        return tx.sql().selectFrom(ENROLLMENT_TOKENS)
                .where(ENROLLMENT_TOKENS.TENANT_ID.eq(tx.tenantId()))
                .orderBy(ENROLLMENT_TOKENS.CREATED_AT, ENROLLMENT_TOKENS.ID)
                .fetch(r -> new TokenInfo(r.getId(), r.getDescription(), r.getExpiresAt(), r.getMaxUses(), r.getUses(),
                        r.getCreatedBy(), r.getCreatedAt(), r.getLastUsedAt(), r.getRevokedAt()));
    }

    public void revoke(TenantTransaction tx, UUID id) {
        int changed = tx.sql().update(ENROLLMENT_TOKENS)
                .set(ENROLLMENT_TOKENS.REVOKED_AT, OffsetDateTime.now())
                .where(ENROLLMENT_TOKENS.ID.eq(id).and(ENROLLMENT_TOKENS.TENANT_ID.eq(tx.tenantId())))
                .and(ENROLLMENT_TOKENS.REVOKED_AT.isNull())
                .execute();
        if (changed == 0 && !tx.sql().fetchExists(ENROLLMENT_TOKENS, ENROLLMENT_TOKENS.ID.eq(id))) {
            throw ApiProblem.notFound("There is no enrolment token " + id + " in this tenant.");
        }
        if (changed > 0) {
            audit.record(tx, "enrollment-token.revoke", "enrollment-token:" + id, null);
        }
    }

    /**
     * Consumes one use of {@code token}, atomically across concurrent enrolments and replicas, before any
     * tenant context exists; the refusal names only this token's own state.
     */
    public Consumed consume(EnrollmentToken token) throws RefusedToken {
        Record row = database.withoutTenant(sql -> sql.fetchOne(
                "select outcome, tenant_id, token_id from clawfence_consume_enrollment_token(?)",
                (Object) token.secretHash()));
        String outcome = row.get("outcome", String.class);
        return switch (outcome) {
            case "ok" -> new Consumed(row.get("tenant_id", UUID.class), row.get("token_id", UUID.class));
            case "revoked" -> throw new RefusedToken(Refusal.REVOKED);
            case "expired" -> throw new RefusedToken(Refusal.EXPIRED);
            case "used-up" -> throw new RefusedToken(Refusal.USED_UP);
            default -> throw new RefusedToken(Refusal.UNKNOWN);
        };
    }
}
