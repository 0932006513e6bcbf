package dev.clawfence.policy;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Gives every rule of a document being saved its identity: a new stable id where it has none,
 * {@code createdBy}/{@code createdAt} kept from the previous version for known ids, {@code updatedAt}
 * moved only when the rule's content changed.
 *
 * <p>A rule is "known" when the previous version has a rule of the same kind (allowlist entry,
 * destination, inbound or outbound port rule) with its id; the provenance given in {@code incoming}
 * is ignored, because only the saved history can vouch for it. New ids are the kind's prefix
 * ({@code in-}, {@code out-}, {@code port-}) and six random lower-case letters and digits, unique
 * among the ids of both versions.
 */
public final class RuleStamper {

    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static final int ID_LENGTH = 6;

    private RuleStamper() {}

    /** {@code previous} is the current version's document, or null for a tenant's first save. */
    public static PolicyDocument stamp(PolicyDocument incoming, PolicyDocument previous, String actor, Instant now) {
        return stamp(incoming, previous, actor, now, new SecureRandom());
    }

    /** As {@link #stamp(PolicyDocument, PolicyDocument, String, Instant)}, drawing new ids from {@code random}. */
    public static PolicyDocument stamp(PolicyDocument incoming, PolicyDocument previous, String actor, Instant now, RandomGenerator random) {
        if (actor == null || actor.isBlank()) {
            throw new IllegalArgumentException("a save needs an actor");
        }
        Stamping stamping = new Stamping(incoming, previous, actor, now, random);
        Inbound in = incoming.inbound();
        Outbound out = incoming.outbound();
        List<AllowlistEntry> allowlist = new ArrayList<>();
        for (AllowlistEntry entry : in.allowlist()) {
            String id = stamping.idFor(entry.id(), "in-");
            AllowlistEntry before = stamping.previous(id, AllowlistEntry.class);
            boolean same = before != null && content(before).equals(content(entry.withId(id)));
            allowlist.add(entry.withId(id).withProvenance(stamping.provenance(before == null ? null : before.provenance(), before != null, same)));
        }
        List<Destination> destinations = new ArrayList<>();
        for (Destination destination : out.destinations()) {
            String id = stamping.idFor(destination.id(), "out-");
            Destination before = stamping.previous(id, Destination.class);
            boolean same = before != null && content(before).equals(content(destination.withId(id)));
            destinations.add(destination.withId(id).withProvenance(stamping.provenance(before == null ? null : before.provenance(), before != null, same)));
        }
        return new PolicyDocument(
                incoming.mode(),
                new Inbound(allowlist, stamping.portRules(in.ports(), "inbound"), in.geo()),
                new Outbound(destinations, stamping.portRules(out.ports(), "outbound"), out.defaultAction()),
                incoming.tests());
    }

    private static AllowlistEntry content(AllowlistEntry entry) {
        return entry.withProvenance(Provenance.NONE);
    }

    private static Destination content(Destination destination) {
        return destination.withProvenance(Provenance.NONE);
    }

    /** One save: the previous version's rules by id and the ids already taken. */
    private static final class Stamping {
        private final Map<String, Object> previousRules = new HashMap<>();
        private final Set<String> taken = new HashSet<>();
        private final String actor;
        private final Instant now;
        private final RandomGenerator random;

        Stamping(PolicyDocument incoming, PolicyDocument previous, String actor, Instant now, RandomGenerator random) {
            this.actor = actor;
            this.now = now;
            this.random = random;
            if (previous != null) {
                previous.inbound().allowlist().forEach(e -> remember(e.id(), e));
                previous.outbound().destinations().forEach(d -> remember(d.id(), d));
                previous.inbound().ports().forEach(p -> remember(p.id(), new Directed("inbound", p)));
                previous.outbound().ports().forEach(p -> remember(p.id(), new Directed("outbound", p)));
            }
            incoming.inbound().allowlist().forEach(e -> taken.add(e.id()));
            incoming.outbound().destinations().forEach(d -> taken.add(d.id()));
            incoming.inbound().ports().forEach(p -> taken.add(p.id()));
            incoming.outbound().ports().forEach(p -> taken.add(p.id()));
        }

        private void remember(String id, Object rule) {
            if (id != null) {
                previousRules.put(id, rule);
                taken.add(id);
            }
        }

        String idFor(String given, String prefix) {
            if (given != null) {
                return given;
            }
            while (true) {
                StringBuilder id = new StringBuilder(prefix);
                for (int i = 0; i < ID_LENGTH; i++) {
                    id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
                }
                if (taken.add(id.toString())) {
                    return id.toString();
                }
            }
        }

        <T> T previous(String id, Class<T> kind) {
            Object rule = previousRules.get(id);
            return kind.isInstance(rule) ? kind.cast(rule) : null;
        }

        Provenance provenance(Provenance before, boolean known, boolean sameContent) {
            if (!known) {
                return new Provenance(actor, now, now);
            }
            String createdBy = before.createdBy() != null ? before.createdBy() : actor;
            Instant createdAt = before.createdAt() != null ? before.createdAt() : now;
            Instant updatedAt = sameContent && before.updatedAt() != null ? before.updatedAt() : now;
            return new Provenance(createdBy, createdAt, updatedAt);
        }

        List<PortRule> portRules(List<PortRule> rules, String direction) {
            List<PortRule> stamped = new ArrayList<>();
            for (PortRule rule : rules) {
                String id = idFor(rule.id(), "port-");
                Directed before = previous(id, Directed.class);
                boolean known = before != null && before.direction().equals(direction);
                boolean same = known && before.rule().withProvenance(Provenance.NONE).equals(rule.withId(id).withProvenance(Provenance.NONE));
                stamped.add(rule.withId(id).withProvenance(provenance(known ? before.rule().provenance() : null, known, same)));
            }
            return stamped;
        }
    }

    /** A port rule with the direction it belongs to, so an id moved between directions counts as new. */
    private record Directed(String direction, PortRule rule) {}
}
