package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.database.jooq.Routines;
import jakarta.inject.Singleton;
import java.util.Optional;

/**
 * Resolves an {@code Authorization: Bearer …} value to its {@link Caller}, for REST and gRPC alike.
 * Tokens are looked up by hash through the database's {@code clawfence_authenticate} function, since no
 * tenant context exists yet; the lookup also records the token's last use.
 */
@Singleton
public final class Authenticator {

    private final Database database;

    public Authenticator(Database database) {
        this.database = database;
    }

    /** The caller for {@code authorization}, or empty when it is missing, malformed, unknown or revoked. */
    public Optional<Caller> authenticate(String authorization, String remoteAddress) {
        if (authorization == null || authorization.length() <= 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        byte[] hash = TokenText.hash(authorization.substring(7).strip());
        return database.withoutTenant(sql -> sql.selectFrom(Routines.clawfenceAuthenticate(hash)).fetchOptional())
                .map(row -> row.getTenantId() == null
                        ? new Caller(Caller.Kind.PLATFORM_ADMIN, row.getTokenId(), row.getName(), null, null, remoteAddress)
                        : new Caller(Caller.Kind.TENANT_TOKEN, row.getTokenId(), row.getName(), row.getTenantId(),
                                Role.fromWire(row.getRole()), remoteAddress));
    }
}
