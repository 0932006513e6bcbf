package dev.clawfence.controlplane.database;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseConfigurationIT {

    @TempDir
    Path dataDir;

    @Test
    void invalidSettingsStopTheStartWithTheirName() {
        assertThatThrownBy(() -> ApplicationContext.run(Map.of(
                "clawfence.data-dir", dataDir.toString(),
                "clawfence.database.pool-size", 0,
                "clawfence.database.app-user", "app; drop table tenants")).close())
                .hasStackTraceContaining("poolSize")
                .hasStackTraceContaining("appUser");
    }
}
