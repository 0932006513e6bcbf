package dev.clawfence.controlplane.agents;

import static dev.clawfence.controlplane.database.jooq.Tables.INSTANCES;
import static dev.clawfence.controlplane.database.jooq.Tables.TENANTS;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/**
 * A tenant's instances (one per enrolled host): created at enrolment, updated with what the agent
 * reports on its Sync stream (hello facts, apply results, drift, liveness), listed for the tenant, and
 * revoked for good (the revocation is announced on {@code clawfence_instance_revoked} so that every
 * replica closes the instance's streams).
 */
@Singleton
public final class Instances {

    /** The revocation channel; its payload is {@code <tenant id>:<instance id>}. */
    public static final String REVOKED_CHANNEL = "clawfence_instance_revoked";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_TEXT = 1000;

    /** Drift the agent reported: what differed, and when. */
    public record Drift(String detail, OffsetDateTime at) {}

    /** An instance as the tenant sees it. */
    public record InstanceView(UUID id, String hostname, String agentVersion, Map<String, String> hostFacts,
            OffsetDateTime enrolledAt, OffsetDateTime lastSeenAt, boolean connected, Integer appliedPolicyVersion,
            int currentPolicyVersion, Integer applyVersion, String applyOutcome, String applyReason, OffsetDateTime appliedAt,
            String rulesetHash, Drift drift, OffsetDateTime certificateExpiresAt, OffsetDateTime revokedAt) {}

    /** Whether an instance may still call: it exists and is not revoked. */
    public enum Standing { ACTIVE, REVOKED, UNKNOWN }

    /** What an agent's hello says. */
    public record Hello(String agentVersion, Map<String, String> hostFacts, long appliedPolicyVersion,
            String rulesetHash) {}

    private final AuditLog audit;

    public Instances(AuditLog audit) {
        this.audit = audit;
    }

    public void create(TenantTransaction tx, UUID id, UUID enrollmentTokenId, String hostname, String agentVersion,
            OffsetDateTime certificateNotAfter) {
        tx.sql().insertInto(INSTANCES)
                .set(INSTANCES.ID, id)
                .set(INSTANCES.TENANT_ID, tx.tenantId())
                .set(INSTANCES.ENROLLMENT_TOKEN_ID, enrollmentTokenId)
                .set(INSTANCES.HOSTNAME, clip(hostname, 253))
                .set(INSTANCES.AGENT_VERSION, clip(agentVersion, 100))
                .set(INSTANCES.CERT_NOT_AFTER, certificateNotAfter)
                .execute();
        audit.record(tx, "instance.enroll", "instance:" + id,
                "hostname=" + clip(hostname, 253) + " enrollment-token=" + enrollmentTokenId);
    }

    public Standing standing(TenantTransaction tx, UUID id) {
        return tx.sql().select(INSTANCES.REVOKED_AT).from(INSTANCES)
                .where(INSTANCES.ID.eq(id).and(INSTANCES.TENANT_ID.eq(tx.tenantId())))
                .fetchOptional()
                .map(r -> r.value1() == null ? Standing.ACTIVE : Standing.REVOKED)
                .orElse(Standing.UNKNOWN);
    }

    public void renewed(TenantTransaction tx, UUID id, OffsetDateTime certificateNotAfter) {
        tx.sql().update(INSTANCES).set(INSTANCES.CERT_NOT_AFTER, certificateNotAfter)
                .set(INSTANCES.LAST_SEEN_AT, OffsetDateTime.now())
                .where(INSTANCES.ID.eq(id)).execute();
        audit.record(tx, "instance.renew", "instance:" + id, "certificate valid until " + certificateNotAfter);
    }

    public List<InstanceView> list(TenantTransaction tx) {
        int current = tx.sql().select(TENANTS.POLICY_VERSION).from(TENANTS)
                .where(TENANTS.ID.eq(tx.tenantId())).fetchSingle().value1();
        return tx.sql().selectFrom(INSTANCES)
                .where(INSTANCES.TENANT_ID.eq(tx.tenantId()))
                .orderBy(INSTANCES.ENROLLED_AT, INSTANCES.ID)
                .fetch(r -> new InstanceView(r.getId(), r.getHostname(), r.getAgentVersion(), facts(r.getHostFacts()),
                        r.getEnrolledAt(), r.getLastSeenAt(), r.getConnectedSince() != null && r.getRevokedAt() == null,
                        r.getAppliedPolicyVersion(), current, r.getApplyVersion(), r.getApplyOutcome(), r.getApplyReason(), r.getAppliedAt(),
                        r.getRulesetHash(),
                        r.getDriftDetail() == null ? null : new Drift(r.getDriftDetail(), r.getDriftAt()),
                        r.getCertNotAfter(), r.getRevokedAt()));
    }

    /** Revokes {@code id} for good; 404 when the tenant has no such instance. */
    public void revoke(TenantTransaction tx, UUID id) {
        int changed = tx.sql().update(INSTANCES)
                .set(INSTANCES.REVOKED_AT, OffsetDateTime.now())
                .set(INSTANCES.CONNECTED_SINCE, (OffsetDateTime) null)
                .where(INSTANCES.ID.eq(id).and(INSTANCES.TENANT_ID.eq(tx.tenantId())))
                .and(INSTANCES.REVOKED_AT.isNull())
                .execute();
        if (changed == 0 && !tx.sql().fetchExists(INSTANCES, INSTANCES.ID.eq(id))) {
            throw ApiProblem.notFound("There is no instance " + id + " in this tenant.");
        }
        if (changed > 0) {
            audit.record(tx, "instance.revoke", "instance:" + id, null);
            // Delivered on commit to every replica's listener, which closes the instance's streams there.
            tx.sql().select(DSL.field("pg_notify({0}, {1})", String.class, REVOKED_CHANNEL,
                    tx.tenantId() + ":" + id)).fetch();
        }
    }

    /** The hello of a stream that opened at {@code since}: the instance is connected, with these facts. */
    private org.jooq.Query helloUpdate(TenantTransaction tx, UUID id, Hello hello, OffsetDateTime since) {
        Map<String, String> facts = new TreeMap<>();
        hello.hostFacts().entrySet().stream().limit(50)
                .forEach(e -> facts.put(clip(e.getKey(), 100), clip(e.getValue(), MAX_TEXT)));
        var update = tx.sql().update(INSTANCES)
                .set(INSTANCES.AGENT_VERSION, clip(hello.agentVersion(), 100))
                .set(INSTANCES.HOST_FACTS, JSONB.valueOf(json(facts)))
                .set(INSTANCES.LAST_SEEN_AT, since)
                .set(INSTANCES.CONNECTED_SINCE, since)
                .set(INSTANCES.APPLIED_POLICY_VERSION, hello.appliedPolicyVersion() == 0 ? null
                        : (int) hello.appliedPolicyVersion())
                .set(INSTANCES.RULESET_HASH, hello.rulesetHash().isEmpty() ? null : clip(hello.rulesetHash(), 128));
        String hostname = facts.get("hostname");
        // Written behind the stream: a revocation committed meanwhile must not be followed by "connected".
        return (hostname == null ? update : update.set(INSTANCES.HOSTNAME, clip(hostname, 253)))
                .where(INSTANCES.ID.eq(id)).and(INSTANCES.REVOKED_AT.isNull());
    }

    /** A start of a connection, rounded as PostgreSQL keeps it, so that its end can name it exactly. */
    public static OffsetDateTime connectionStart() {
        return OffsetDateTime.now().truncatedTo(ChronoUnit.MICROS);
    }

    /**
     * Records the outcome of applying a version. Only {@code APPLIED} moves the version in force; after a
     * failure or rollback the previous version is still enforced, and {@code apply_version} names the one
     * that did not take. {@code rulesetHash} is always the ruleset now in force. A failure or rollback is audited.
     */
    public void applied(TenantTransaction tx, UUID id, long version, String outcome, String reason,
            String rulesetHash) {
        appliedUpdate(tx, id, version, outcome, reason, rulesetHash).execute();
        if (!"APPLIED".equals(outcome)) {
            audit.record(tx, "instance.apply-" + outcome.toLowerCase().replace('_', '-'), "instance:" + id,
                    "policy:v" + version + " " + clip(reason, MAX_TEXT));
        }
    }

    /**
     * What a Sync stream reports that needs neither an audit entry nor an answer, written behind the
     * stream in batches ({@link #record}).
     */
    public sealed interface Change {}

    /** A stream opened at {@code since} said hello. */
    public record Connected(UUID id, Hello hello, OffsetDateTime since) implements Change {}

    /** The stream opened at {@code since} ended. */
    public record Disconnected(UUID id, OffsetDateTime since) implements Change {}

    /** An {@code APPLIED} result. */
    public record Applied(UUID id, long version, String rulesetHash) implements Change {}

    /**
     * Records {@code changes} in one round trip, in their order: a stream's end must land after its
     * hello, or the instance would show connected for good.
     */
    public void record(TenantTransaction tx, List<? extends Change> changes) {
        List<org.jooq.Query> queries = new ArrayList<>();
        List<Applied> applied = new ArrayList<>();
        for (Change change : changes) {
            if (change instanceof Applied a) {
                applied.add(a);
                continue;
            }
            appliedUpdates(tx, applied).ifPresent(queries::add);
            applied.clear();
            queries.add(switch (change) {
                case Connected c -> helloUpdate(tx, c.id(), c.hello(), c.since());
                case Disconnected d -> disconnectedUpdate(tx, d.id(), d.since());
                case Applied a -> throw new IllegalStateException("handled above");
            });
        }
        appliedUpdates(tx, applied).ifPresent(queries::add);
        if (queries.size() == 1) {
            queries.getFirst().execute();
        } else if (!queries.isEmpty()) {
            tx.sql().batch(queries).execute();
        }
    }

    /**
     * One statement for a run of {@code APPLIED} results with nothing between them. After a save every agent
     * reports one: as one {@code UPDATE} each, 10,000 statements were rendered, parsed and planned per save
     * (most of the embedded PostgreSQL's CPU in the fan-out benchmark). Per instance the run's last result
     * wins, keeping the last ruleset hash it named, as applying them one by one would.
     */
    private Optional<org.jooq.Query> appliedUpdates(TenantTransaction tx, List<Applied> run) {
        if (run.isEmpty()) {
            return Optional.empty();
        }
        if (run.size() == 1) {
            Applied a = run.getFirst();
            return Optional.of(appliedUpdate(tx, a.id(), a.version(), "APPLIED", null, a.rulesetHash()));
        }
        Map<UUID, Applied> last = new LinkedHashMap<>();
        Map<UUID, String> hashes = new HashMap<>();
        for (Applied a : run) {
            last.put(a.id(), a);
            if (a.rulesetHash() != null && !a.rulesetHash().isEmpty()) {
                hashes.put(a.id(), clip(a.rulesetHash(), 128));
            }
        }
        UUID[] ids = last.keySet().toArray(UUID[]::new);
        Integer[] versions = new Integer[ids.length];
        String[] rulesetHashes = new String[ids.length];
        for (int i = 0; i < ids.length; i++) {
            versions[i] = (int) last.get(ids[i]).version();
            rulesetHashes[i] = hashes.get(ids[i]);
        }
        OffsetDateTime now = OffsetDateTime.now();
        return Optional.of(tx.sql().query("update {0} as i set apply_version = v.version, apply_outcome = 'APPLIED', "
                        + "apply_reason = null, applied_at = {4}, last_seen_at = {4}, applied_policy_version = v.version, "
                        + "ruleset_hash = coalesce(v.hash, i.ruleset_hash) "
                        + "from unnest({1}::uuid[], {2}::int[], {3}::text[]) as v(id, version, hash) where i.id = v.id",
                INSTANCES, DSL.val(ids), DSL.val(versions), DSL.val(rulesetHashes), DSL.val(now)));
    }

    private org.jooq.Query appliedUpdate(TenantTransaction tx, UUID id, long version, String outcome, String reason,
            String rulesetHash) {
        var update = tx.sql().update(INSTANCES)
                .set(INSTANCES.APPLY_VERSION, (int) version)
                .set(INSTANCES.APPLY_OUTCOME, outcome)
                .set(INSTANCES.APPLY_REASON, reason == null || reason.isEmpty() ? null : clip(reason, MAX_TEXT))
                .set(INSTANCES.APPLIED_AT, OffsetDateTime.now())
                .set(INSTANCES.LAST_SEEN_AT, OffsetDateTime.now());
        if ("APPLIED".equals(outcome)) {
            update = update.set(INSTANCES.APPLIED_POLICY_VERSION, (int) version);
        }
        if (rulesetHash != null && !rulesetHash.isEmpty()) {
            update = update.set(INSTANCES.RULESET_HASH, clip(rulesetHash, 128));
        }
        return update.where(INSTANCES.ID.eq(id));
    }

    /** Records drift the agent found (and whether it restored its ruleset). */
    public void drift(TenantTransaction tx, UUID id, String detail, boolean restored) {
        tx.sql().update(INSTANCES)
                .set(INSTANCES.DRIFT_DETAIL, clip(detail, MAX_TEXT) + (restored ? " (restored)" : " (not restored)"))
                .set(INSTANCES.DRIFT_AT, OffsetDateTime.now())
                .set(INSTANCES.LAST_SEEN_AT, OffsetDateTime.now())
                .where(INSTANCES.ID.eq(id)).execute();
    }

    /** Records that these instances were heard from just now, in one statement. */
    public void seen(TenantTransaction tx, Collection<UUID> ids) {
        tx.sql().update(INSTANCES).set(INSTANCES.LAST_SEEN_AT, OffsetDateTime.now())
                .where(INSTANCES.ID.in(ids)).execute();
    }

    /** Marks the instance disconnected, unless a newer stream (connected after {@code since}) holds it. */
    private org.jooq.Query disconnectedUpdate(TenantTransaction tx, UUID id, OffsetDateTime since) {
        return tx.sql().update(INSTANCES).set(INSTANCES.CONNECTED_SINCE, (OffsetDateTime) null)
                .set(INSTANCES.LAST_SEEN_AT, OffsetDateTime.now())
                .where(INSTANCES.ID.eq(id)).and(INSTANCES.CONNECTED_SINCE.eq(since));
    }

    private static String clip(String text, int max) {
        if (text == null) {
            return "";
        }
        return text.length() <= max ? text : text.substring(0, max);
    }

    private static String json(Map<String, String> facts) {
        try {
            return JSON.writeValueAsString(facts);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> facts(JSONB json) {
        try {
            return json == null ? Map.of() : JSON.readValue(json.data(), TreeMap.class);
        } catch (JsonProcessingException e) {
            return Map.of();
        }
    }
}
