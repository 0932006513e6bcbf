package dev.clawfence.controlplane;

import dev.clawfence.controlplane.agents.AgentGatewayServer;
import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.demo.DemoTenant;
import io.micronaut.context.BeanProvider;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;

/**
 * Prints, once the HTTP server listens, where it listens and where its health answers; in demo mode
 * also creates the demo tenant and prints its policy URL and a token.
 */
@Singleton
public final class StartupAnnouncement {

    private final Database database;
    private final ClawfenceConfiguration config;
    private final DemoTenant demo;
    private final BeanProvider<GrpcEmbeddedServer> grpc;
    private final BeanProvider<AgentGatewayServer> agentGateway;

    public StartupAnnouncement(Database database, ClawfenceConfiguration config, DemoTenant demo,
            BeanProvider<GrpcEmbeddedServer> grpc, BeanProvider<AgentGatewayServer> agentGateway) {
        this.agentGateway = agentGateway;
        this.database = database;
        this.config = config;
        this.demo = demo;
        this.grpc = grpc;
    }

    @EventListener
    void onStartup(ServerStartupEvent event) {
        if (event.getSource() instanceof GrpcEmbeddedServer) {
            // The gRPC server announces its own start too; we speak once, for the HTTP server.
            return;
        }
        String base = "http://localhost:" + event.getSource().getPort();
        System.out.println("Clawfence control plane listening on " + base + "/api/v1 (health: " + base
                + "/health, OpenAPI: " + base + "/swagger/clawfence-control-plane-0.1.yml, data: "
                + database.description() + ")");
        grpc.ifPresent(server -> System.out.println("Clawfence admin gRPC service listening on localhost:"
                + server.getPort()));
        agentGateway.ifPresent(gateway -> {
            if (gateway.isRunning()) {
                System.out.println("Clawfence agent gateway listening on port " + gateway.port()
                        + " (gRPC over TLS, mutual TLS after enrolment; CA pin " + gateway.caPin() + ")");
            }
        });
        if (config.demoEnabled()) {
            DemoTenant.Demo created = demo.ensure();
            System.out.println("Clawfence control plane ready: " + base + "/api/v1/tenants/" + created.tenantId()
                    + "/network/policy");
            System.out.println("Demo tenant token: " + created.token());
        }
    }
}
