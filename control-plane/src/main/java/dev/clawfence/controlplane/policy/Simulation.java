package dev.clawfence.controlplane.policy;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.policy.Connection;
import dev.clawfence.policy.ConnectionReader;
import dev.clawfence.policy.Decision;
import dev.clawfence.policy.Validated;
import jakarta.inject.Singleton;
import java.time.Instant;

/** Answers "what would the tenant's current policy do with this connection?" with the policy engine. */
@Singleton
public final class Simulation {

    /** The answer, with the version that gave it. */
    public record Result(String verdict, String reason, String ruleId, String explanation, int policyVersion) {}

    private final PolicyVersions versions;
    private final EvaluatorCache evaluators;

    public Simulation(PolicyVersions versions, EvaluatorCache evaluators) {
        this.versions = versions;
        this.evaluators = evaluators;
    }

    /** {@code connectionTree} is {@code {direction, from, to, port, proto, country?}}; problems are a 422. */
    public Result simulate(TenantTransaction tx, Object connectionTree) {
        Validated<Connection> connection = ConnectionReader.read(connectionTree);
        if (!connection.isValid()) {
            throw ApiProblem.invalid("The connection has " + connection.errors().size() + " error(s).",
                    connection.errors().stream()
                            .map(p -> new ApiProblem.FieldError(p.path().isEmpty() ? "body" : p.path(), p.message()))
                            .toList());
        }
        PolicyVersion current = versions.current(tx);
        Decision decision = evaluators.evaluator(tx.tenantId(), current).evaluate(connection.value(), Instant.now());
        return new Result(decision.verdict().wireName(), decision.reason().wireName(), decision.ruleId(),
                decision.explanation(), current.version());
    }
}
