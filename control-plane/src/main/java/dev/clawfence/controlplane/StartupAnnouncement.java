package dev.clawfence.controlplane;

import dev.clawfence.controlplane.database.Database;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;

/** Prints, once the HTTP server listens, where it listens and where its health answers. */
@Singleton
public final class StartupAnnouncement {

    private final Database database;

    public StartupAnnouncement(Database database) {
        this.database = database;
    }

    @EventListener
    void onStartup(ServerStartupEvent event) {
        String base = "http://localhost:" + event.getSource().getPort();
        System.out.println("Clawfence control plane listening on " + base + "/api/v1 (health: " + base
                + "/health, OpenAPI: " + base + "/swagger/clawfence-control-plane-0.1.yml, data: "
                + database.description() + ")");
    }
}
