package dev.clawfence.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CidrMergerTest {

    @Test
    void mergesAFullRunOfAddressesIntoOneBlock() {
        assertThat(CidrMerger.merge(addresses("192.0.2.", 0, 255))).containsExactly("192.0.2.0/24");
    }

    @Test
    void coversExactlyTheGivenAddressesWithTheFewestBlocks() {
        assertThat(CidrMerger.merge(addresses("192.0.2.", 1, 254))).containsExactly(
                "192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/30", "192.0.2.8/29", "192.0.2.16/28", "192.0.2.32/27", "192.0.2.64/26",
                "192.0.2.128/26", "192.0.2.192/27", "192.0.2.224/28", "192.0.2.240/29", "192.0.2.248/30", "192.0.2.252/31", "192.0.2.254/32");
    }

    @Test
    void joinsAdjacentAndOverlappingBlocksPerFamily() {
        assertThat(CidrMerger.merge(List.of("2001:db8::/33", "203.0.113.128/25", "203.0.113.0/25", "2001:db8:8000::/33", "203.0.113.7", "2001:DB8::1")))
                .containsExactly("203.0.113.0/24", "2001:db8::/32");
    }

    @Test
    void suggestsTheSmallestCoveringBlock() {
        assertThat(CidrMerger.cover(List.of("192.0.2.1", "192.0.2.254", "2001:db8::1", "2001:db8::ff"))).containsExactly("192.0.2.0/24", "2001:db8::/120");
    }

    @Test
    void rejectsInvalidInputNamingIt() {
        assertThatThrownBy(() -> CidrMerger.merge(List.of("192.0.2.0/24", "192.0.2.1/24")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"192.0.2.1/24\" has host bits set");
    }

    private static List<String> addresses(String prefix, int first, int last) {
        List<String> list = new ArrayList<>();
        for (int i = first; i <= last; i++) {
            list.add(prefix + i);
        }
        return list;
    }
}
