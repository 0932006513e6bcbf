package dev.clawfence.controlplane.tenancy;

import dev.clawfence.controlplane.api.Ids;
import dev.clawfence.controlplane.api.JsonBody;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import dev.clawfence.controlplane.api.RequestShapes;
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
import java.util.List;

/**
 * {@code /api/v1/tenants/{tenant}/api-tokens}: {@code POST {name, role}} → 201 {@code {id, name, role,
 * token, createdAt}} (the token text, shown only here), {@code GET} lists, {@code DELETE /{id}} revokes.
 */
@Controller("/api/v1/tenants/{tenant}/api-tokens")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class ApiTokenController {

    private final TenantAccess access;
    private final ApiTokens tokens;

    public ApiTokenController(TenantAccess access, ApiTokens tokens) {
        this.access = access;
        this.tokens = tokens;
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<ApiTokens.MintedToken> create(HttpRequest<?> request, String tenant, @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.CreateApiToken.class))) @Nullable @Body String body) {
        return HttpResponse.status(HttpStatus.CREATED).body(access.write(Caller.of(request), tenant, tx -> {
            JsonBody json = JsonBody.of(body);
            String name = json.text("name", 200);
            String role = json.oneOf("role", Role.NAMES);
            json.done();
            return tokens.mint(tx, name, Role.fromWire(role));
        }));
    }

    @Get
    public List<ApiTokens.TokenInfo> list(HttpRequest<?> request, String tenant) {
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
