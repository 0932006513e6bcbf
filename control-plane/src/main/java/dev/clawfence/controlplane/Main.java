package dev.clawfence.controlplane;

import io.micronaut.runtime.Micronaut;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import java.util.Arrays;
import java.util.Map;

/**
 * Starts the control plane: HTTP (REST, health, OpenAPI) on {@code micronaut.server.port}, PostgreSQL
 * (embedded unless {@code CLAWFENCE_DATABASE_URL} is set) and, with {@code --demo}, the demo tenant.
 */
@OpenAPIDefinition(info = @Info(title = "clawfence-control-plane", version = "0.1",
        description = "Clawfence control plane: tenants, tokens, network policy versions, simulation, audit."),
        security = @SecurityRequirement(name = "bearer"))
@SecurityScheme(name = "bearer", type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "An API token (cf_…): a tenant's, or the platform admin token.")
public final class Main {

    private Main() {}

    public static void main(String[] args) {
        boolean demo = Arrays.asList(args).contains("--demo");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--demo")).toArray(String[]::new);
        var builder = Micronaut.build(rest).mainClass(Main.class).banner(false);
        if (demo) {
            builder.properties(Map.of("clawfence.demo", true));
        }
        builder.start();
    }
}
