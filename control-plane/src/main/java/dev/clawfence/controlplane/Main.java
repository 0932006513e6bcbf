package dev.clawfence.controlplane;

import io.micronaut.runtime.Micronaut;
import java.util.Arrays;
import java.util.Map;

/**
 * Starts the control plane: HTTP (REST, health, OpenAPI) on {@code micronaut.server.port}, PostgreSQL
 * (embedded unless {@code CLAWFENCE_DATABASE_URL} is set) and, with {@code --demo}, the demo tenant.
 */
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
