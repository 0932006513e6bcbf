package dev.clawfence.controlplane.policy;

import static dev.clawfence.controlplane.database.jooq.Tables.POLICY_VERSIONS;
import static dev.clawfence.controlplane.database.jooq.Tables.TENANTS;

import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.audit.AuditLog;
import dev.clawfence.controlplane.database.jooq.tables.records.PolicyVersionsRecord;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyDocumentWriter;
import dev.clawfence.policy.PolicyTestRunner;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.Problem;
import dev.clawfence.policy.RuleStamper;
import dev.clawfence.policy.Validated;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/**
 * A tenant's policy versions: reading the current one (a tenant's version 1 is the default policy,
 * author {@code system}, written on first access), listing, and saving new ones. A save validates,
 * stamps rule identities, runs the policy's own tests, and then, in the caller's transaction, moves
 * the current-version pointer with a conditional update and adds the immutable version row; so two
 * saves based on the same version cannot both win, and a refused save changes nothing.
 */
@Singleton
public final class PolicyVersions {

    /** A saved version and the validator's warnings about it. */
    public record Saved(PolicyVersion version, List<Problem> warnings) {}

    /** A page of versions, newest first, and the cursor of the next page (null at the end). */
    public record Page(List<PolicyVersion> items, String nextCursor) {}

    /** The PostgreSQL notification channel announcing committed versions; payload {@code <tenant id>:<version>}. */
    public static final String POLICY_CHANNEL = "clawfence_policy";

    private final AuditLog audit;
    private final PlatformConfiguration platform;
    private final Clock clock = Clock.systemUTC();

    public PolicyVersions(AuditLog audit, PlatformConfiguration platform) {
        this.audit = audit;
        this.platform = platform;
    }

    public PolicyVersion current(TenantTransaction tx) {
        int pointer = tx.sql().select(TENANTS.POLICY_VERSION).from(TENANTS)
                .where(TENANTS.ID.eq(tx.tenantId())).fetchSingle().value1();
        if (pointer == 0) {
            return initialize(tx);
        }
        return version(tx, pointer).orElseThrow(() -> new IllegalStateException(
                "tenant " + tx.tenantId() + " points at missing policy version " + pointer));
    }

    public Optional<PolicyVersion> version(TenantTransaction tx, int number) {
        return tx.sql().selectFrom(POLICY_VERSIONS)
                .where(POLICY_VERSIONS.TENANT_ID.eq(tx.tenantId()).and(POLICY_VERSIONS.VERSION.eq(number)))
                .fetchOptional()
                .map(PolicyVersions::read);
    }

    /** Versions below {@code beforeVersion} (or the newest), newest first, at most {@code limit}. */
    public Page list(TenantTransaction tx, int limit, Long beforeVersion) {
        current(tx);
        var rows = tx.sql().selectFrom(POLICY_VERSIONS)
                .where(POLICY_VERSIONS.TENANT_ID.eq(tx.tenantId()))
                .and(beforeVersion == null ? POLICY_VERSIONS.VERSION.isNotNull()
                        : POLICY_VERSIONS.VERSION.lt(beforeVersion.intValue()))
                .orderBy(POLICY_VERSIONS.VERSION.desc())
                .limit(limit + 1)
                .fetch();
        List<PolicyVersion> items = rows.stream().limit(limit).map(PolicyVersions::read).toList();
        return new Page(items, rows.size() > limit ? String.valueOf(items.getLast().version()) : null);
    }

    /** Problems the current rules find in a stored version today (e.g. an entry that has expired since). */
    public List<Problem> warningsNow(PolicyVersion version) {
        return PolicyValidator.validate(PolicyDocumentWriter.toTree(version.document()), now(), version.document()).problems();
    }

    /** Saves {@code policyTree} as the version after {@code expectedVersion}, the one the caller has seen. */
    public Saved save(TenantTransaction tx, int expectedVersion, Object policyTree, String message) {
        Instant now = now();
        PolicyVersion current = current(tx);
        requireVersion(current, expectedVersion);
        Validated<PolicyDocument> validated = PolicyValidator.validate(policyTree, now, current.document());
        if (!validated.isValid()) {
            throw invalid("The policy has " + validated.errors().size() + " error(s); nothing was saved.",
                    validated.errors());
        }
        return store(tx, current, validated.value(), message, now, "policy.update", validated.warnings());
    }

    /** Saves a new version equal to version {@code number}, checked again against today's rules. */
    public Saved restore(TenantTransaction tx, int number, Integer expectedVersion) {
        Instant now = now();
        PolicyVersion current = current(tx);
        if (expectedVersion != null) {
            requireVersion(current, expectedVersion);
        }
        PolicyVersion old = version(tx, number).orElseThrow(() ->
                ApiProblem.notFound("There is no policy version " + number + "."));
        Validated<PolicyDocument> validated = PolicyValidator.validate(PolicyDocumentWriter.toTree(old.document()), now, old.document());
        if (!validated.isValid()) {
            throw invalid("Version " + number + " is no longer valid; nothing was saved.", validated.errors());
        }
        return store(tx, current, validated.value(), "Restore version " + number, now, "policy.restore",
                validated.warnings());
    }

    private Saved store(TenantTransaction tx, PolicyVersion current, PolicyDocument incoming, String message,
            Instant now, String action, List<Problem> warnings) {
        PolicyDocument stamped = RuleStamper.stamp(incoming, current.document(), tx.caller().actor(), now);
        List<Problem> failures = PolicyTestRunner.run(stamped, platform.rules(), now);
        if (!failures.isEmpty()) {
            throw invalid(failures.size() + " policy test(s) fail; nothing was saved.", failures);
        }
        int next = current.version() + 1;
        int moved = tx.sql().update(TENANTS).set(TENANTS.POLICY_VERSION, next)
                .where(TENANTS.ID.eq(tx.tenantId()).and(TENANTS.POLICY_VERSION.eq(current.version())))
                .execute();
        if (moved == 0) {
            throw ApiProblem.preconditionFailed("Someone saved a newer version meanwhile; reload the policy and "
                    + "apply your change again.");
        }
        PolicyVersion saved = insert(tx, next, stamped, tx.caller().actor(),
                tx.caller().tokenId() == null ? null : tx.caller().tokenId().toString(), message, now);
        audit.record(tx, action, "policy:v" + next, message);
        // Delivered when (and only if) this transaction commits, to every replica's agent gateway.
        tx.sql().select(DSL.field("pg_notify({0}, {1})", String.class, POLICY_CHANNEL,
                tx.tenantId() + ":" + next)).fetch();
        return new Saved(saved, warnings);
    }

    private PolicyVersion initialize(TenantTransaction tx) {
        int claimed = tx.sql().update(TENANTS).set(TENANTS.POLICY_VERSION, 1)
                .where(TENANTS.ID.eq(tx.tenantId()).and(TENANTS.POLICY_VERSION.eq(0)))
                .execute();
        if (claimed == 0) {
            // A concurrent first access wrote version 1 and committed while we waited for the row.
            return current(tx);
        }
        return insert(tx, 1, PolicyDocument.defaultPolicy(), "system", null, "Default policy", now());
    }

    /** Now, at the database's precision, so a version reads back with exactly the times it was saved with. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static PolicyVersion insert(TenantTransaction tx, int number, PolicyDocument document, String author,
            String authorId, String message, Instant now) {
        String canonical = CanonicalJson.write(PolicyDocumentWriter.toTree(document));
        String hash = CanonicalJson.hash(canonical);
        tx.sql().insertInto(POLICY_VERSIONS)
                .set(POLICY_VERSIONS.TENANT_ID, tx.tenantId())
                .set(POLICY_VERSIONS.VERSION, number)
                .set(POLICY_VERSIONS.DOCUMENT, JSONB.valueOf(canonical))
                .set(POLICY_VERSIONS.AUTHOR, author)
                .set(POLICY_VERSIONS.AUTHOR_ID, authorId)
                .set(POLICY_VERSIONS.MESSAGE, message)
                .set(POLICY_VERSIONS.CREATED_AT, now.atOffset(ZoneOffset.UTC))
                .set(POLICY_VERSIONS.CONTENT_HASH, hash)
                .execute();
        return new PolicyVersion(number, author, authorId, message, now, hash, document);
    }

    /** Reads a stored version back; it was valid at the instant it was saved, so it is read as of then. */
    private static PolicyVersion read(PolicyVersionsRecord row) {
        Instant savedAt = row.getCreatedAt().toInstant();
        Validated<PolicyDocument> document = PolicyValidator.validate(CanonicalJson.read(row.getDocument().data()), savedAt);
        if (!document.isValid()) {
            throw new IllegalStateException("stored policy version " + row.getVersion() + " of tenant "
                    + row.getTenantId() + " does not read back: " + document.errors());
        }
        return new PolicyVersion(row.getVersion(), row.getAuthor(), row.getAuthorId(), row.getMessage(), savedAt,
                row.getContentHash(), document.value());
    }

    private static void requireVersion(PolicyVersion current, int expected) {
        if (current.version() != expected) {
            throw ApiProblem.preconditionFailed("If-Match names version " + expected + " but the current version is "
                    + current.version() + "; reload the policy and apply your change again.");
        }
    }

    /** A 422 naming each problem at its path in the request body, under {@code policy}. */
    private static ApiProblem invalid(String detail, List<Problem> problems) {
        return ApiProblem.invalid(detail, problems.stream()
                .map(p -> new ApiProblem.FieldError(p.path().isEmpty() ? "policy" : "policy." + p.path(), p.message()))
                .toList());
    }
}
