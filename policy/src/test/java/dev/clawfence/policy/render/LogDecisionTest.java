package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LogDecisionTest {

    @ParameterizedTest
    @CsvSource({
            "INBOUND, BLOCKED, PORT_CLOSED, in_b_port_closed, cf1 b - port-closed",
            "INBOUND, WOULD_BLOCK, NOT_ALLOWLISTED, in_w_not_allowlisted, cf1 w - not-allowlisted",
            "INBOUND, ALLOWED, ALLOWLISTED, in_a_allowlisted, cf1 a - allowlisted",
            "OUTBOUND, ALLOWED, DESTINATION_ALLOWED, out_a_destination_allowed, cf1 a - destination-allowed",
            "OUTBOUND, BLOCKED, UNKNOWN_DESTINATION, out_b_unknown_destination, cf1 b - unknown-destination",
            "OUTBOUND, ALLOWED, DEFAULT, out_a_default, cf1 a - default"})
    void namesTheCounterAndThePrefixAndReadsTheCounterBack(Direction direction, Verdict verdict, Reason reason, String counter, String prefix) {
        LogDecision decision = new LogDecision(direction, verdict, reason);
        assertThat(decision.counterName()).isEqualTo(counter);
        assertThat(decision.prefix()).isEqualTo(prefix);
        assertThat(LogDecision.ofCounterName(counter)).contains(decision);
    }

    @ParameterizedTest
    @CsvSource({"burst", "in_x_port_closed", "up_b_port_closed", "in_b_nonsense", "in_b"})
    void otherCounterNamesAreNoDecision(String name) {
        assertThat(LogDecision.ofCounterName(name)).isEmpty();
    }

    @Test
    void badLoggingSettingsNameTheirFields() {
        assertThatThrownBy(() -> new EventLogging(true, 70000, 0, 200))
                .hasMessage("nflogGroup: 70000 is not an NFLOG group (0-65535); rate: 0 events/s is out of range (1-1000000)");
        assertThat(IptablesRenderer.limitName(new EventLogging(true, 100, 1_000_000, 1_000_000))).hasSizeLessThanOrEqualTo(15);
    }
}
