package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.controlplane.api.ApiProblem;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Query parameters → typed filters, and the cursor that is bound to them; no database. */
class EventFilterTest {

    private static final UUID TENANT = UUID.fromString("5b0c3a4e-0000-4000-8000-000000000001");
    private static final Instant NOW = Instant.parse("2026-11-24T15:00:00Z");

    private static EventFilter.Params params(Map<String, List<String>> values) {
        return name -> values.getOrDefault(name, List.of());
    }

    private static EventFilter parse(UUID tenant, Map<String, List<String>> values) {
        return EventFilter.parse(tenant, params(values), NOW, null);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "203.0.113.7, 203.0.113.7/32",
        "203.0.113.0/24, 203.0.113.0/24",
        "0.0.0.0/0, 0.0.0.0/0",
        "2001:DB8::/32, 2001:db8::/32",
        "2001:db8:0:0::1, 2001:db8::1/128",
    })
    void addressesBecomeCanonicalBlocks(String given, String canonical) {
        assertThat(parse(TENANT, Map.of("address", List.of(given))).address()).isEqualTo(canonical);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "10.0.0.5/8 | \"10.0.0.5/8\" has host bits set: did you mean \"10.0.0.0/8\"?",
        "10.1 | \"10.1\" is not an IP address or CIDR",
        "010.0.0.1 | \"010.0.0.1\" is not an IP address or CIDR",
        "10.0.0.0/33 | \"10.0.0.0/33\" is not an IP address or CIDR",
        "1.2.3.1-5 | \"1.2.3.1-5\" is not an IP address or CIDR",
        "fe80::1%eth0 | \"fe80::1%eth0\" is not an IP address or CIDR",
    })
    void badAddressesSayWhy(String given, String message) {
        List<ApiProblem.FieldError> errors = new ArrayList<>();
        assertThat(EventFilter.address(given, errors)).isNull();
        assertThat(errors).singleElement().satisfies(e -> {
            assertThat(e.path()).isEqualTo("address");
            assertThat(e.message()).startsWith(message);
        });
    }

    @Test
    void defaultRangeIsTheLastDayAndVerdictsAcceptListsAndRepeats() {
        EventFilter filter = parse(TENANT, Map.of("verdict", List.of("blocked,would-block", "allowed"),
                "protocol", List.of("ICMPv6"), "port", List.of("443")));

        assertThat(filter.from()).isEqualTo(Instant.parse("2026-11-23T15:00:00Z"));
        assertThat(filter.to()).isEqualTo(NOW);
        assertThat(filter.verdicts()).containsExactlyInAnyOrder("allowed", "blocked", "would-block");
        assertThat(filter.protocol()).isEqualTo(58);
        assertThat(filter.port()).isEqualTo(443);
    }

    @Test
    void anEmptyRuleIsRefused() {
        assertThatThrownBy(() -> parse(TENANT, Map.of("rule", List.of(""))))
                .isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.errors()).singleElement()
                        .satisfies(e -> assertThat(e.path()).isEqualTo("rule"))
                        .satisfies(e -> assertThat(e.message()).startsWith("is empty")));
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> parse(TENANT, Map.of("from", List.of("2026-11-25T00:00:00Z"), "verdict", List.of("nope"),
                "port", List.of("70000"), "rule", List.of("a", "b"))))
                .isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.errors())
                        .extracting(ApiProblem.FieldError::path).containsExactlyInAnyOrder("from", "verdict", "port", "rule"));
    }

    @Test
    void aCursorRoundTripsAndIsRefusedForOtherFiltersOrTenants() {
        EventFilter blocked = parse(TENANT, Map.of("verdict", List.of("blocked")));
        EventFilter allowed = parse(TENANT, Map.of("verdict", List.of("allowed")));
        EventFilter otherTenant = parse(UUID.randomUUID(), Map.of("verdict", List.of("blocked")));
        EventCursor cursor = new EventCursor(1L, 2L, UUID.randomUUID(), 3L);
        String text = cursor.encode(blocked.fingerprint());

        assertThat(EventCursor.decode(text, parse(TENANT, Map.of("verdict", List.of("blocked"))).fingerprint())).isEqualTo(cursor);
        assertThat(EventCursor.fromMicros(text)).isEqualTo(1L);
        assertThatThrownBy(() -> EventCursor.decode(text, allowed.fingerprint())).isInstanceOf(ApiProblem.class)
                .hasMessageContaining("cursor: was issued for other filters or another tenant");
        assertThatThrownBy(() -> EventCursor.decode(text, otherTenant.fingerprint())).isInstanceOf(ApiProblem.class);
        assertThatThrownBy(() -> EventCursor.decode(text.substring(1), blocked.fingerprint())).isInstanceOf(ApiProblem.class)
                .hasMessageContaining("is not a cursor from a previous page");
    }

    @Test
    void liveStreamRefusesTheRangeAndPaging() {
        assertThatThrownBy(() -> EventFilter.parseLive(TENANT, params(Map.of("to", List.of("2026-11-24T00:00:00Z"),
                "limit", List.of("5"))))).isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.errors())
                        .extracting(ApiProblem.FieldError::path).containsExactlyInAnyOrder("to", "limit"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"0-0-0", "123-45-6789", "9223372036854775807-1-1"})
    void streamPositionsRoundTrip(String text) {
        assertThat(EventLiveStream.Position.parse(text).text()).isEqualTo(text);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"12", "1-2", "a-b-c", "9223372036854775808-1-1", "1-2-3-4"})
    void foreignLastEventIdsAreRefused(String text) {
        assertThatThrownBy(() -> EventLiveStream.Position.parse(text)).isInstanceOf(ApiProblem.class)
                .hasMessageStartingWith("Last-Event-ID: ");
    }
}
