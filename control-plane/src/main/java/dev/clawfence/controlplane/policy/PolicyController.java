package dev.clawfence.controlplane.policy;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.api.JsonBody;
import dev.clawfence.controlplane.api.Paging;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import dev.clawfence.controlplane.api.RequestShapes;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /api/v1/tenants/{tenant}/network}: the current policy ({@code GET|PUT /policy}, optimistic
 * concurrency with {@code ETag}/{@code If-Match} on the version number), its versions
 * ({@code GET /policy/versions}, {@code GET /policy/versions/{n}}, {@code POST /policy/versions/{n}/restore})
 * and {@code POST /simulate}. A policy response is {@code {version, author, authorId, message, createdAt,
 * contentHash, policy, warnings}}.
 */
@Controller("/api/v1/tenants/{tenant}/network")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class PolicyController {

    private final TenantAccess access;
    private final PolicyVersions versions;
    private final Simulation simulation;

    public PolicyController(TenantAccess access, PolicyVersions versions, Simulation simulation) {
        this.access = access;
        this.versions = versions;
        this.simulation = simulation;
    }

    @Get("/policy")
    public HttpResponse<Map<String, Object>> current(HttpRequest<?> request, String tenant) {
        PolicyVersion current = access.read(Caller.of(request), tenant, versions::current);
        return withETag(HttpResponse.ok(PolicyViews.full(current, versions.warningsNow(current))), current);
    }

    @Put("/policy")
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<Map<String, Object>> save(HttpRequest<?> request, String tenant,
            @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.SavePolicy.class))) @Nullable @Body String body) {
        Caller caller = Caller.of(request);
        String ifMatch = request.getHeaders().get(HttpHeaders.IF_MATCH);
        PolicyVersions.Saved saved = access.write(caller, tenant, tx -> {
            if (ifMatch == null) {
                throw ApiProblem.preconditionRequired("Send If-Match with the version you edited, e.g. If-Match: \"3\""
                        + " (the ETag of GET .../network/policy).");
            }
            int expected = version(ifMatch);
            JsonBody json = JsonBody.of(body);
            String message = json.text("message", 500);
            if (!json.has("policy")) {
                json.error("policy", "is required");
            }
            json.done();
            return versions.save(tx, expected, json.raw("policy"), message);
        });
        return withETag(HttpResponse.ok(PolicyViews.full(saved.version(), saved.warnings())), saved.version());
    }

    @Get("/policy/versions")
    public Map<String, Object> list(HttpRequest<?> request, String tenant, @Nullable @QueryValue String limit,
            @Nullable @QueryValue String cursor) {
        int pageSize = Paging.limit(limit);
        Long before = Paging.cursor(cursor);
        PolicyVersions.Page page = access.read(Caller.of(request), tenant, tx -> versions.list(tx, pageSize, before));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("items", page.items().stream().map(PolicyViews::summary).toList());
        body.put("nextCursor", page.nextCursor());
        return body;
    }

    @Get("/policy/versions/{n}")
    public HttpResponse<Map<String, Object>> version(HttpRequest<?> request, String tenant, String n) {
        int number = versionNumber(n);
        PolicyVersion version = access.read(Caller.of(request), tenant, tx -> versions.version(tx, number)
                .orElseThrow(() -> ApiProblem.notFound("There is no policy version " + number + ".")));
        return withETag(HttpResponse.ok(PolicyViews.full(version, versions.warningsNow(version))), version);
    }

    @Post("/policy/versions/{n}/restore")
    public HttpResponse<Map<String, Object>> restore(HttpRequest<?> request, String tenant, String n) {
        int number = versionNumber(n);
        String ifMatch = request.getHeaders().get(HttpHeaders.IF_MATCH);
        Integer expected = ifMatch == null ? null : version(ifMatch);
        PolicyVersions.Saved saved = access.write(Caller.of(request), tenant, tx -> versions.restore(tx, number, expected));
        return withETag(HttpResponse.ok(PolicyViews.full(saved.version(), saved.warnings())), saved.version());
    }

    @Post("/simulate")
    @Consumes(MediaType.APPLICATION_JSON)
    public Simulation.Result simulate(HttpRequest<?> request, String tenant,
            @RequestBody(content = @Content(schema = @Schema(implementation = RequestShapes.SimulateConnection.class))) @Nullable @Body String body) {
        return access.read(Caller.of(request), tenant, tx -> simulation.simulate(tx, JsonBody.parseTree(body)));
    }

    private static HttpResponse<Map<String, Object>> withETag(MutableHttpResponse<Map<String, Object>> response,
            PolicyVersion version) {
        return response.header(HttpHeaders.ETAG, "\"" + version.version() + "\"");
    }

    /** The version in an If-Match header: {@code "3"}, also accepted as {@code W/"3"} or {@code 3}. */
    private static int version(String ifMatch) {
        String value = ifMatch.strip();
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw ApiProblem.badRequest("If-Match", "\"" + ifMatch + "\" is not a policy version; send the ETag of "
                    + "GET .../network/policy, e.g. \"3\"");
        }
    }

    private static int versionNumber(String n) {
        try {
            int number = Integer.parseInt(n);
            if (number >= 1) {
                return number;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiProblem.badRequest("n", "\"" + n + "\" is not a version number (1, 2, …)");
    }
}
