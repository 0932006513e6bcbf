package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static dev.clawfence.policy.PolicyTree.allow;
import static dev.clawfence.policy.PolicyTree.policy;
import static dev.clawfence.policy.PolicyTree.tcp;
import static dev.clawfence.policy.PolicyTree.to;
import static dev.clawfence.policy.PolicyTree.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class RuleStamperTest {

    private static final Instant LATER = NOW.plus(Duration.ofHours(2));

    @Test
    void firstSaveGivesEveryRuleANewIdAndProvenance() {
        PolicyDocument incoming = policy().allowlist(allow("203.0.113.0/24")).destinations(to("example.com")).document();

        PolicyDocument stamped = RuleStamper.stamp(incoming, null, "alice", NOW, new Random(1));

        AllowlistEntry entry = stamped.inbound().allowlist().get(0);
        assertThat(entry.id()).matches("in-[a-z0-9]{6}");
        assertThat(entry.provenance()).isEqualTo(new Provenance("alice", NOW, NOW));
        assertThat(stamped.outbound().destinations().get(0).id()).matches("out-[a-z0-9]{6}");
        assertThat(stamped.inbound().ports().get(0).id()).matches("port-[a-z0-9]{6}");
        assertThat(stamped.outbound().ports().get(0).provenance().createdBy()).isEqualTo("alice");
    }

    @Test
    void sameSeedGivesSameIds() {
        PolicyDocument incoming = policy().allowlist(allow("203.0.113.0/24"), allow("198.51.100.0/24")).document();
        assertThat(RuleStamper.stamp(incoming, null, "alice", NOW, new Random(42)))
                .isEqualTo(RuleStamper.stamp(incoming, null, "alice", NOW, new Random(42)));
    }

    @Test
    void keepsIdsAndCreationAcrossEditsAndMovesUpdatedAtOnlyOnChange() {
        PolicyDocument first = RuleStamper.stamp(
                policy().allowlist(allow("203.0.113.0/24"), allow("198.51.100.0/24")).document(), null, "alice", NOW, new Random(1));
        Map<String, Object> edited = PolicyDocumentWriter.toTree(first);
        List<Map<String, Object>> entries = allowlistOf(edited);
        entries.set(1, with(entries.get(1), "description", "Changed by bob"));
        PolicyDocument incoming = PolicyValidator.validate(edited, LATER).value();

        PolicyDocument second = RuleStamper.stamp(incoming, first, "bob", LATER, new Random(2));

        AllowlistEntry unchanged = second.inbound().allowlist().get(0);
        AllowlistEntry changed = second.inbound().allowlist().get(1);
        assertThat(unchanged.id()).isEqualTo(first.inbound().allowlist().get(0).id());
        assertThat(unchanged.provenance()).isEqualTo(new Provenance("alice", NOW, NOW));
        assertThat(changed.id()).isEqualTo(first.inbound().allowlist().get(1).id());
        assertThat(changed.provenance()).isEqualTo(new Provenance("alice", NOW, LATER));
    }

    @Test
    void ignoresProvenanceClaimedByTheIncomingDocument() {
        PolicyDocument first = RuleStamper.stamp(policy().allowlist(allow("203.0.113.0/24")).document(), null, "alice", NOW, new Random(1));
        Map<String, Object> edited = PolicyDocumentWriter.toTree(first);
        List<Map<String, Object>> entries = allowlistOf(edited);
        entries.set(0, with(with(entries.get(0), "createdBy", "mallory"), "createdAt", "2020-01-01T00:00:00Z"));

        PolicyDocument second = RuleStamper.stamp(PolicyValidator.validate(edited, LATER).value(), first, "bob", LATER, new Random(2));

        assertThat(second.inbound().allowlist().get(0).provenance()).isEqualTo(new Provenance("alice", NOW, NOW));
    }

    @Test
    void newRulesInAnEditGetNewUniqueIds() {
        PolicyDocument first = RuleStamper.stamp(policy().allowlist(allow("203.0.113.0/24")).document(), null, "alice", NOW, new Random(1));
        Map<String, Object> edited = PolicyDocumentWriter.toTree(first);
        List<Map<String, Object>> entries = allowlistOf(edited);
        for (int i = 0; i < 200; i++) {
            entries.add(allow("198.51.100." + i));
        }
        // A generator that starts by repeating the same id six times: the stamper must draw again.
        Random random = new Random(1);
        java.util.random.RandomGenerator stuck = new java.util.random.RandomGenerator() {
            private int calls;

            @Override
            public long nextLong() {
                return calls++ < 36 ? (calls % 6) * 0x9E3779B97F4A7C15L : random.nextLong();
            }
        };

        PolicyDocument second = RuleStamper.stamp(PolicyValidator.validate(edited, LATER).value(), first, "bob", LATER, stuck);

        List<String> ids = second.inbound().allowlist().stream().map(AllowlistEntry::id).toList();
        Set<String> all = new HashSet<>(ids);
        second.inbound().ports().forEach(p -> all.add(p.id()));
        second.outbound().ports().forEach(p -> all.add(p.id()));
        assertThat(all).hasSize(ids.size() + 2);
        assertThat(ids.get(0)).isEqualTo(first.inbound().allowlist().get(0).id());
        assertThat(second.inbound().allowlist().get(1).provenance()).isEqualTo(new Provenance("bob", LATER, LATER));
        assertThat(ids).allMatch(id -> TreeReader.ID.matcher(id).matches());
    }

    @Test
    void givenIdsAreKeptAndPortRuleEditsAreTracked() {
        PolicyDocument first = RuleStamper.stamp(policy().inboundPorts(with(tcp(443), "id", "https"), with(tcp(22), "id", "ssh")).document(),
                null, "alice", NOW, new Random(1));
        PolicyDocument incoming = policy().inboundPorts(with(tcp(443), "id", "https"), with(tcp(2222), "id", "ssh")).document();

        PolicyDocument second = RuleStamper.stamp(incoming, first, "bob", LATER, new Random(2));

        assertThat(second.inbound().ports()).extracting(PortRule::id).containsExactly("https", "ssh");
        assertThat(second.inbound().ports().get(0).provenance()).isEqualTo(new Provenance("alice", NOW, NOW));
        assertThat(second.inbound().ports().get(1).provenance()).isEqualTo(new Provenance("alice", NOW, LATER));
    }

    @Test
    void anIdMovedToAnotherKindOfRuleCountsAsNew() {
        PolicyDocument first = RuleStamper.stamp(policy().allowlist(with(allow("203.0.113.0/24"), "id", "shared")).document(), null, "alice", NOW, new Random(1));
        PolicyDocument incoming = policy().destinations(with(to("example.com"), "id", "shared")).document();

        PolicyDocument second = RuleStamper.stamp(incoming, first, "bob", LATER, new Random(2));

        assertThat(second.outbound().destinations().get(0).provenance()).isEqualTo(new Provenance("bob", LATER, LATER));
    }

    @Test
    void defaultRandomnessGivesValidIds() {
        PolicyDocument stamped = RuleStamper.stamp(policy().allowlist(allow("203.0.113.0/24")).document(), null, "alice", NOW);
        assertThat(Stream.of(stamped.inbound().allowlist().get(0).id())).allMatch(id -> id.matches("in-[a-z0-9]{6}"));
    }

    @Test
    void refusesASaveWithoutActor() {
        assertThatThrownBy(() -> RuleStamper.stamp(PolicyDocument.defaultPolicy(), null, " ", NOW)).isInstanceOf(IllegalArgumentException.class);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> allowlistOf(Map<String, Object> tree) {
        Map<String, Object> inbound = (Map<String, Object>) tree.get("inbound");
        List<Map<String, Object>> entries = new ArrayList<>((List<Map<String, Object>>) inbound.get("allowlist"));
        inbound.put("allowlist", entries);
        return entries;
    }
}
