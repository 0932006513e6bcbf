package dev.clawfence.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.PolicyUpdate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state directory keeps the last applied policy and the sets intact, and reports damage instead of crashing. */
class StoreTest {

    @TempDir
    Path dir;

    private final PolicyUpdate update = TestPolicies.update(4, TestPolicies.inbound("203.0.113.2/32"));

    @Test
    void anEmptyDirectoryHoldsNothingAndNoProblem() throws IOException {
        Store store = new Store(dir.resolve("state"));

        assertThat(store.lastApplied().value()).isEmpty();
        assertThat(store.lastApplied().problem()).isNull();
        assertThat(store.knownSetHashes()).isEmpty();
    }

    @Test
    void whatIsSavedIsReadBack() throws IOException {
        Store store = new Store(dir);
        store.saveApplied(update);

        Store reopened = new Store(dir);
        assertThat(reopened.lastApplied().value()).contains(update);
        assertThat(reopened.knownSetHashes()).containsExactlyInAnyOrderElementsOf(update.getSetsList().stream().map(CompiledSet::getHash).toList());
        CompiledSet first = update.getSets(0);
        assertThat(reopened.set(first.getHash()).value()).contains(first);
        try (var files = Files.list(dir)) {
            assertThat(files.map(file -> file.getFileName().toString())).containsExactlyInAnyOrder("policy.bin", "sets");
        }
    }

    @Test
    void theExpiryScheduleIsKeptWithThePolicyAndItsSetsStoredByHash() throws IOException {
        java.util.Map<String, java.time.Instant> allowlist = new java.util.LinkedHashMap<>();
        allowlist.put("203.0.113.2/32", TestPolicies.NOW.plusSeconds(60));
        allowlist.put("203.0.113.66/32", null);
        PolicyUpdate scheduled = TestPolicies.scheduled(5, TestPolicies.expiring(allowlist), TestPolicies.NOW);
        Store store = new Store(dir);
        store.saveApplied(scheduled);

        Store reopened = new Store(dir);
        assertThat(reopened.lastApplied().value()).contains(scheduled);
        assertThat(reopened.lastApplied().value().orElseThrow().getScheduledCount()).isEqualTo(1);
        assertThat(reopened.knownSetHashes()).containsExactlyInAnyOrderElementsOf(scheduled.getSetsList().stream().map(CompiledSet::getHash).toList());
    }

    @Test
    void aTruncatedPolicyFileIsReportedAndIgnored() throws IOException {
        Store store = new Store(dir);
        store.saveApplied(update);
        Path file = dir.resolve("policy.bin");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));

        Store.Load<PolicyUpdate> load = store.lastApplied();

        assertThat(load.value()).isEmpty();
        assertThat(load.problem()).contains("policy.bin").contains("checksum");
    }

    @Test
    void aFileWithoutHeaderIsReportedAndIgnored() throws IOException {
        Store store = new Store(dir);
        Files.writeString(dir.resolve("policy.bin"), "garbage");

        assertThat(store.lastApplied().value()).isEmpty();
        assertThat(store.lastApplied().problem()).contains("no CFS1 header");
    }

    @Test
    void aDamagedSetIsReportedAndRewrittenWhenReceivedAgain() throws IOException {
        Store store = new Store(dir);
        CompiledSet set = update.getSets(0);
        store.saveSet(set);
        Path file = dir.resolve("sets").resolve(set.getHash() + ".bin");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);

        assertThat(store.set(set.getHash()).problem()).contains("checksum");

        store.saveSet(set);
        assertThat(store.set(set.getHash()).value()).contains(set);
    }

    @Test
    void noTemporaryFileIsLeftBehind() throws IOException {
        Store store = new Store(dir);
        store.saveApplied(update);
        store.saveApplied(update.toBuilder().setVersion(5).build());

        assertThat(store.lastApplied().value().orElseThrow().getVersion()).isEqualTo(5);
        try (var files = Files.walk(dir)) {
            assertThat(files.map(Path::toString)).noneMatch(name -> name.endsWith(".tmp"));
        }
    }
}
