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
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.List;

/**
 * {@code /api/v1/tenants/{tenant}/users}: {@code GET} lists, {@code POST {email, name, role}} → 201,
 * {@code GET /{id}}, {@code PUT /{id} {email?, name?, role?}}, {@code DELETE /{id}} → 204.
 */
@Controller("/api/v1/tenants/{tenant}/users")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class UserController {

    private final TenantAccess access;
    private final Users users;

    public UserController(TenantAccess access, Users users) {
        this.access = access;
        this.users = users;
    }

    @Get
    public List<Users.User> list(HttpRequest<?> request, String tenant) {
        return access.read(Caller.of(request), tenant, users::list);
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<Users.User> create(HttpRequest<?> request, String tenant, @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.UserFields.class))) @Nullable @Body String body) {
        return HttpResponse.status(HttpStatus.CREATED).body(access.write(Caller.of(request), tenant, tx -> {
            JsonBody json = JsonBody.of(body);
            String email = email(json, json.text("email", 320));
            String name = json.text("name", 200);
            String role = json.oneOf("role", Role.NAMES);
            json.done();
            return users.create(tx, email, name, Role.fromWire(role));
        }));
    }

    @Get("/{id}")
    public Users.User get(HttpRequest<?> request, String tenant, String id) {
        return access.read(Caller.of(request), tenant, tx -> users.get(tx, Ids.parse("id", id)));
    }

    @Put("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Users.User update(HttpRequest<?> request, String tenant, String id, @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.UserFields.class))) @Nullable @Body String body) {
        return access.write(Caller.of(request), tenant, tx -> {
            JsonBody json = JsonBody.of(body);
            String email = json.has("email") ? email(json, json.text("email", 320)) : null;
            String name = json.optionalText("name", 200);
            String role = json.has("role") ? json.oneOf("role", Role.NAMES) : null;
            json.done();
            return users.update(tx, Ids.parse("id", id), email, name, role == null ? null : Role.fromWire(role));
        });
    }

    @Delete("/{id}")
    public HttpResponse<Void> delete(HttpRequest<?> request, String tenant, String id) {
        access.write(Caller.of(request), tenant, tx -> {
            users.delete(tx, Ids.parse("id", id));
            return null;
        });
        return HttpResponse.noContent();
    }

    /** A light check only: the address is for display and contact, not for login. */
    private static String email(JsonBody json, String email) {
        if (email != null && !email.matches("[^@\\s]+@[^@\\s]+")) {
            json.error("email", "\"" + email + "\" is not an email address");
        }
        return email;
    }
}
