package dev.clawfence.controlplane.database;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;

/**
 * Which PostgreSQL to use ({@code clawfence.database.*}). Without a {@code url} the control plane runs
 * an embedded PostgreSQL in the data directory. With one, {@code user}/{@code password} name the owner
 * role that runs the migrations, and {@code appUser}/{@code appPassword} the role the service queries as
 * (LOGIN, NOSUPERUSER, NOBYPASSRLS, owning no table), so that row-level security applies to it.
 *
 * @param url JDBC URL ({@code CLAWFENCE_DATABASE_URL})
 * @param user migration owner ({@code CLAWFENCE_DATABASE_USER})
 * @param password migration owner's password ({@code CLAWFENCE_DATABASE_PASSWORD})
 * @param appUser application role, default {@code clawfence_app} ({@code CLAWFENCE_DATABASE_APP_USER}); a
 *     plain identifier, since it is written into GRANT statements and the role's ALTER
 * @param appPassword application role's password ({@code CLAWFENCE_DATABASE_APP_PASSWORD})
 * @param poolSize connections in the application pool, default 10
 * @param sharedBuffers the embedded server's {@code shared_buffers} ({@code CLAWFENCE_DATABASE_SHARED_BUFFERS}):
 *     {@code auto} (default: a quarter of the memory, 128 MB to 8 GB, see {@link ServerSettings}) or a
 *     size such as {@code 512MB}; tests that start many servers may keep it at {@code 128MB}
 */
@ConfigurationProperties("clawfence.database")
public record DatabaseConfiguration(
        @Nullable String url,
        @Nullable String user,
        @Nullable String password,
        @Nullable @Pattern(regexp = "[a-z_][a-z0-9_]{0,62}", message = "must be a plain lower-case role name")
        String appUser,
        @Nullable String appPassword,
        @Nullable @Min(1) @Max(200) Integer poolSize,
        @Nullable @Pattern(regexp = "auto|[1-9][0-9]{0,9}(kB|MB|GB|TB)",
                message = "must be auto or a memory size such as 512MB (kB, MB, GB or TB)")
        String sharedBuffers) {

    public boolean embedded() {
        return url == null || url.isBlank();
    }

    public String appRole() {
        return appUser == null || appUser.isBlank() ? "clawfence_app" : appUser;
    }

    public int pool() {
        return poolSize == null ? 10 : poolSize;
    }
}
