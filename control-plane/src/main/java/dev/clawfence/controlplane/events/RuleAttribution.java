package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.database.jooq.Tables.INSTANCES;

import dev.clawfence.controlplane.policy.EvaluatorCache;
import dev.clawfence.controlplane.policy.PolicyVersions;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.policy.Connection;
import dev.clawfence.policy.Decision;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Reason;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.EventBatch;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Names the tenant rule behind an allowed event. The kernel logs per decision step, and one allowlist
 * (or destination) set stands for many tenant rules, so the agent sends {@code rule_id} empty for
 * reasons {@code allowlisted} and {@code destination-allowed}; here the instance's policy version in
 * force (its applied version, else the tenant's current one) is evaluated on the event's connection at
 * the event's time, and the deciding entry's id is filled in: the answer the simulator gives.
 *
 * <p>An event is left as it came when the evaluator disagrees with the kernel's reason (an address
 * that an allowed domain resolved to: the evaluator matches names only against names), when the agent
 * already named a rule, and when the event is malformed (the batch check refuses it next).
 */
@Singleton
public final class RuleAttribution {

    private final PolicyVersions versions;
    private final EvaluatorCache evaluators;

    public RuleAttribution(PolicyVersions versions, EvaluatorCache evaluators) {
        this.versions = versions;
        this.evaluators = evaluators;
    }

    /** {@code batch} with rule ids filled in where the policy in force of {@code instance} names one. */
    public EventBatch attribute(TenantTransaction tx, UUID instance, EventBatch batch) {
        if (batch.getEventsList().stream().noneMatch(RuleAttribution::needsRule)) {
            return batch;
        }
        Integer applied = tx.sql().select(INSTANCES.APPLIED_POLICY_VERSION).from(INSTANCES)
                .where(INSTANCES.ID.eq(instance)).fetchOptional(INSTANCES.APPLIED_POLICY_VERSION).orElse(null);
        int version = applied != null ? applied : versions.current(tx).version();
        Optional<Evaluator> evaluator = evaluators.evaluator(tx.tenantId(), version, () -> versions.version(tx, version));
        return evaluator.map(e -> attribute(batch, e)).orElse(batch);
    }

    /** {@code batch} with rule ids filled in by {@code evaluator}; the same batch when none changes. */
    public static EventBatch attribute(EventBatch batch, Evaluator evaluator) {
        EventBatch.Builder changed = null;
        for (int i = 0; i < batch.getEventsCount(); i++) {
            ConnectionEvent event = batch.getEvents(i);
            if (!needsRule(event)) {
                continue;
            }
            String rule = ruleOf(event, evaluator);
            if (rule != null) {
                if (changed == null) {
                    changed = batch.toBuilder();
                }
                changed.setEvents(i, event.toBuilder().setRuleId(rule));
            }
        }
        return changed == null ? batch : changed.build();
    }

    private static boolean needsRule(ConnectionEvent event) {
        return event.getRuleId().isEmpty()
                && (Reason.ALLOWLISTED.wireName().equals(event.getReason())
                        || Reason.DESTINATION_ALLOWED.wireName().equals(event.getReason()));
    }

    /** The deciding tenant rule, or null when there is none to name or the event does not read as a connection. */
    private static String ruleOf(ConnectionEvent event, Evaluator evaluator) {
        Protocol proto = switch (event.getIpProtocol()) {
            case 6 -> Protocol.TCP;
            case 17 -> Protocol.UDP;
            case 1, 58 -> Protocol.ICMP;
            default -> null;
        };
        Direction direction = switch (event.getDirection()) {
            case DIRECTION_INBOUND -> Direction.INBOUND;
            case DIRECTION_OUTBOUND -> Direction.OUTBOUND;
            default -> null;
        };
        if (proto == null || direction == null) {
            return null;
        }
        int port = proto.hasPorts() ? event.getDestinationPort() : 0;
        Decision decision;
        try {
            Connection connection = direction == Direction.INBOUND
                    ? Connection.inbound(address(event.getSourceAddress().toByteArray()), port, proto)
                    : Connection.outbound(address(event.getDestinationAddress().toByteArray()), port, proto);
            Instant at = Instant.EPOCH.plusNanos(Math.multiplyExact(event.getTimeEpochMicros(), 1_000L));
            decision = evaluator.evaluate(connection, at);
        } catch (IllegalArgumentException | ArithmeticException e) {
            return null;
        }
        boolean agrees = decision.reason().wireName().equals(event.getReason());
        return agrees && decision.ruleId() != null && !decision.ruleId().startsWith("platform:") ? decision.ruleId() : null;
    }

    private static String address(byte[] bytes) {
        if (bytes.length != 4 && bytes.length != 16) {
            throw new IllegalArgumentException(bytes.length + " bytes is not an address");
        }
        try {
            return InetAddress.getByAddress(bytes).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
