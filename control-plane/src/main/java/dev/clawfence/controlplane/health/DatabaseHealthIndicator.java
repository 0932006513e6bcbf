package dev.clawfence.controlplane.health;

import dev.clawfence.controlplane.database.Database;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import org.reactivestreams.Publisher;

/** Reports UP when the app role can query the migrated database; the service is not ready otherwise. */
@Singleton
@Readiness
public final class DatabaseHealthIndicator implements HealthIndicator {

    private final Database database;

    public DatabaseHealthIndicator(Database database) {
        this.database = database;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Publishers.just(HealthResult.builder("database")
                .status(database.isReady() ? HealthStatus.UP : HealthStatus.DOWN)
                .build());
    }
}
