package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.Connection;
import dev.clawfence.policy.Decision;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.PolicyCompiler;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The chains {@link NftRenderer} writes, evaluated on the compiled sets ({@link RulesetModel}), give the
 * evaluator's verdict and reason for every random connection: the compiler's boxes, merged sets and
 * expiry handling implement DESIGN.md's decisions exactly.
 */
class RulesetModelPropertyTest {

    @Property(tries = 1000)
    void compiledRulesetAgreesWithTheEvaluator(@ForAll("policies") PolicyDocument policy, @ForAll("connections") List<Connection> connections,
            @ForAll("offsets") Duration offset) {
        Instant now = RandomPolicies.NOW.plus(offset);
        CompiledPolicy compiled = PolicyCompiler.compile(policy, RandomPolicies.PLATFORM, RandomPolicies.COUNTRIES, now);
        Evaluator evaluator = Evaluator.compile(policy, RandomPolicies.PLATFORM);
        for (Connection connection : connections) {
            Decision expected = evaluator.evaluate(connection, now);
            RulesetModel.Outcome actual = RulesetModel.decide(compiled, connection);
            assertThat(actual)
                    .as("%s %s %s/%d country %s at %s: evaluator says %s", connection.direction(), connection.peer(), connection.proto(),
                            connection.port(), connection.country(), now, expected.explanation())
                    .isEqualTo(new RulesetModel.Outcome(expected.verdict(), expected.reason()));
        }
    }

    @Provide
    Arbitrary<PolicyDocument> policies() {
        return RandomPolicies.policies();
    }

    @Provide
    Arbitrary<List<Connection>> connections() {
        return RandomPolicies.connections().list().ofMinSize(1).ofMaxSize(40);
    }

    @Provide
    Arbitrary<Duration> offsets() {
        return Arbitraries.of(0L, 1L, 3L, 100L).map(Duration::ofHours);
    }
}
