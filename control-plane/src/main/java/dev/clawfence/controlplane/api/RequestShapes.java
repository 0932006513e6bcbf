package dev.clawfence.controlplane.api;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Map;

/**
 * The JSON request bodies of the REST API, for the OpenAPI document only: handlers read bodies as text
 * with {@link JsonBody} so that every problem gets its exact field path.
 */
public final class RequestShapes {

    private RequestShapes() {}

    @Schema(description = "A new tenant.")
    public record CreateTenant(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, maxLength = 200) String name) {}

    @Schema(description = "A new API token; its text is returned once.")
    public record CreateApiToken(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, maxLength = 200) String name,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"owner", "admin", "viewer"}) String role) {}

    @Schema(description = "A new enrolment token for agents; its text is returned once.")
    public record CreateEnrollmentToken(
            @Schema(maxLength = 200) String description,
            @Schema(minimum = "60", maximum = "2592000", defaultValue = "86400") Long expiresInSeconds,
            @Schema(minimum = "1", maximum = "1000", defaultValue = "1") Integer maxUses) {}

    @Schema(description = "A user; on update every field is optional.")
    public record UserFields(
            @Schema(maxLength = 320) String email,
            @Schema(maxLength = 200) String name,
            @Schema(allowableValues = {"owner", "admin", "viewer"}) String role) {}

    @Schema(description = "The tenant's event retention in days, or null for the platform default.")
    public record EventSettings(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, nullable = true, minimum = "1",
                    description = "1 to clawfence.events.max-retention-days (default 365); null: the platform default")
            Integer retentionDays) {}

    @Schema(description = "A new policy version: why, and the whole document (see DESIGN.md, Policy document).")
    public record SavePolicy(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, maxLength = 500) String message,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) Map<String, Object> policy) {}

    @Schema(description = "A connection to decide.")
    public record SimulateConnection(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"inbound", "outbound"}) String direction,
            @Schema(description = "source address (required inbound)") String from,
            @Schema(description = "destination address or, outbound, a host name (required outbound)") String to,
            @Schema(description = "1-65535 for tcp/udp; absent for icmp") Integer port,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"tcp", "udp", "icmp"}) String proto,
            @Schema(description = "the source's ISO-3166 alpha-2 country") String country) {}
}
