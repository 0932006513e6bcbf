package dev.clawfence.controlplane.enrollment;

import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.api.JsonBody;
import dev.clawfence.controlplane.api.RequestShapes;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import java.util.List;

/**
 * {@code /api/v1/tenants/{tenant}/enrollment-tokens}: {@code POST {description?, expiresInSeconds?,
 * maxUses?}} → 201 {@code {id, token, description, expiresAt, maxUses, uses}} (the token text, shown only
 * here; owners and admins), {@code GET} lists without the text, {@code DELETE /{id}} revokes.
 */
@Controller("/api/v1/tenants/{tenant}/enrollment-tokens")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class EnrollmentTokenController {

    private final TenantAccess access;
    private final EnrollmentTokens tokens;

    public EnrollmentTokenController(TenantAccess access, EnrollmentTokens tokens) {
        this.access = access;
        this.tokens = tokens;
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<EnrollmentTokens.MintedToken> create(HttpRequest<?> request, String tenant,
            @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.CreateEnrollmentToken.class)))
            @Nullable @Body String body) {
        return HttpResponse.status(HttpStatus.CREATED).body(access.write(Caller.of(request), tenant, tx -> {
            // An empty body asks for the defaults.
            JsonBody json = JsonBody.of(body == null || body.isBlank() ? "{}" : body);
            String description = json.optionalText("description", 200);
            long expiresIn = json.optionalInteger("expiresInSeconds", EnrollmentTokens.MIN_EXPIRES_IN,
                    EnrollmentTokens.MAX_EXPIRES_IN, EnrollmentTokens.DEFAULT_EXPIRES_IN);
            long maxUses = json.optionalInteger("maxUses", 1, EnrollmentTokens.MAX_MAX_USES,
                    EnrollmentTokens.DEFAULT_MAX_USES);
            json.done();
            return tokens.mint(tx, description, expiresIn, (int) maxUses);
        }));
    }

    @Get
    public List<EnrollmentTokens.TokenInfo> list(HttpRequest<?> request, String tenant) {
        return access.read(Caller.of(request), tenant, tokens::list);
    }

    @Delete("/{id}")
    public HttpResponse<Void> revoke(HttpRequest<?> request, String tenant, String id) {
        access.write(Caller.of(request), tenant, tx -> {
            tokens.revoke(tx, Ids.parse("id", id));
            return null;
        });
        return HttpResponse.noContent();
    }
}
