package dev.clawfence.controlplane.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {

    @Test
    void keyOrderDoesNotChangeTextOrHash() {
        Map<String, Object> ab = new LinkedHashMap<>();
        ab.put("b", List.of(Map.of("y", 1, "x", 2)));
        ab.put("a", "text");
        Map<String, Object> ba = new LinkedHashMap<>();
        ba.put("a", "text");
        ba.put("b", List.of(new LinkedHashMap<>(Map.of("x", 2, "y", 1))));

        assertThat(CanonicalJson.write(ab)).isEqualTo("{\"a\":\"text\",\"b\":[{\"x\":2,\"y\":1}]}")
                .isEqualTo(CanonicalJson.write(ba));
        assertThat(CanonicalJson.hash(CanonicalJson.write(ab))).isEqualTo(CanonicalJson.hash(CanonicalJson.write(ba)))
                .matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void differentContentGivesDifferentHash() {
        assertThat(CanonicalJson.hash("{\"a\":1}")).isNotEqualTo(CanonicalJson.hash("{\"a\":2}"));
    }
}
