package dev.clawfence.controlplane;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.nio.file.Path;

/**
 * The control plane's own settings ({@code clawfence.*}): where embedded data lives, the platform admin
 * token to accept, and whether to create the demo tenant.
 *
 * @param dataDir embedded PostgreSQL data and the app role's password ({@code CLAWFENCE_DATA_DIR},
 *     default {@code ~/.clawfence})
 * @param adminToken a platform admin token to accept ({@code CLAWFENCE_ADMIN_TOKEN}); when absent one is
 *     generated and printed once at first start
 * @param demo create the demo tenant ({@code --demo} or {@code CLAWFENCE_DEMO=true})
 */
@ConfigurationProperties("clawfence")
public record ClawfenceConfiguration(@Nullable String dataDir, @Nullable String adminToken, @Nullable Boolean demo) {

    /** The data directory with its default applied. */
    public Path dataPath() {
        return dataDir == null || dataDir.isBlank()
                ? Path.of(System.getProperty("user.home"), ".clawfence")
                : Path.of(dataDir);
    }

    public boolean demoEnabled() {
        return Boolean.TRUE.equals(demo);
    }
}
