package dev.clawfence.controlplane.tenancy;

import static dev.clawfence.controlplane.database.jooq.Tables.API_TOKENS;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;

/**
 * A tenant's API tokens: minted with a role (never above the minting token's own), shown once,
 * stored as a hash, listed without their text, revoked for good.
 */
@Singleton
public final class ApiTokens {

    /** A token as listed: everything but its text. */
    public record TokenInfo(UUID id, String name, String role, String createdBy, OffsetDateTime createdAt,
            OffsetDateTime lastUsedAt, OffsetDateTime revokedAt) {}

    /** A freshly minted token: the only time its text is shown. */
    public record MintedToken(UUID id, String name, String role, String token, OffsetDateTime createdAt) {}

    private final AuditLog audit;

    public ApiTokens(AuditLog audit) {
        this.audit = audit;
    }

    public MintedToken mint(TenantTransaction tx, String name, Role role) {
        Caller caller = tx.caller();
        if (caller.kind() == Caller.Kind.TENANT_TOKEN && !caller.role().covers(role)) {
            throw ApiProblem.forbidden("A " + caller.role().wireName() + " token cannot create a "
                    + role.wireName() + " token.");
        }
        String token = TokenText.generate();
        UUID id = UUID.randomUUID();
        var row = tx.sql().insertInto(API_TOKENS)
                .set(API_TOKENS.ID, id)
                .set(API_TOKENS.TENANT_ID, tx.tenantId())
                .set(API_TOKENS.NAME, name)
                .set(API_TOKENS.ROLE, role.wireName())
                .set(API_TOKENS.TOKEN_HASH, TokenText.hash(token))
                .set(API_TOKENS.CREATED_BY, caller.actor())
                .returning().fetchOne();
        audit.record(tx, "api-token.create", "api-token:" + id, "name=" + name + " role=" + role.wireName());
        return new MintedToken(id, name, role.wireName(), token, row.getCreatedAt());
    }

    public List<TokenInfo> list(TenantTransaction tx) {
        return tx.sql().selectFrom(API_TOKENS)
                .where(API_TOKENS.TENANT_ID.eq(tx.tenantId()))
                .orderBy(API_TOKENS.CREATED_AT, API_TOKENS.ID)
                .fetch(r -> new TokenInfo(r.getId(), r.getName(), r.getRole(), r.getCreatedBy(), r.getCreatedAt(),
                        r.getLastUsedAt(), r.getRevokedAt()));
    }

    public void revoke(TenantTransaction tx, UUID id) {
        int changed = tx.sql().update(API_TOKENS)
                .set(API_TOKENS.REVOKED_AT, OffsetDateTime.now())
                .where(API_TOKENS.ID.eq(id).and(API_TOKENS.TENANT_ID.eq(tx.tenantId())))
                .and(API_TOKENS.REVOKED_AT.isNull())
                .execute();
        if (changed == 0 && !tx.sql().fetchExists(API_TOKENS, API_TOKENS.ID.eq(id))) {
            throw ApiProblem.notFound("There is no API token " + id + " in this tenant.");
        }
        if (changed > 0) {
            audit.record(tx, "api-token.revoke", "api-token:" + id, null);
        }
    }
}
