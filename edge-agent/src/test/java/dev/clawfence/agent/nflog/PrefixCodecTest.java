package dev.clawfence.agent.nflog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.nflog.PrefixCodec.LogPrefix;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class PrefixCodecTest {

    @ParameterizedTest
    @EnumSource(Verdict.class)
    void everyVerdictAndReasonSurvivesTheRoundTrip(Verdict verdict) {
        for (Reason reason : Reason.values()) {
            LogPrefix prefix = new LogPrefix(verdict, "inbound.allowlist/ssh-2", reason);
            assertThat(PrefixCodec.decode(PrefixCodec.encode(prefix))).contains(prefix);
        }
        LogPrefix noReason = new LogPrefix(verdict, "r7", null);
        assertThat(PrefixCodec.decode(PrefixCodec.encode(noReason))).contains(noReason);
    }

    @Test
    void theWireFormIsTheProposal() {
        assertThat(PrefixCodec.encode(new LogPrefix(Verdict.BLOCKED, "in.allowlist.ssh", Reason.NOT_ALLOWLISTED)))
                .isEqualTo("cf1 b in.allowlist.ssh not-allowlisted");
        assertThat(PrefixCodec.encode(new LogPrefix(Verdict.WOULD_BLOCK, "r1", null))).isEqualTo("cf1 w r1");
    }

    @Test
    void theCapturedPrefixesDecode() {
        assertThat(PrefixCodec.decode("cf1 b in.tcp port-closed")).contains(new LogPrefix(Verdict.BLOCKED, "in.tcp", Reason.PORT_CLOSED));
        assertThat(PrefixCodec.decode("cf1 a in.icmp6")).contains(new LogPrefix(Verdict.ALLOWED, "in.icmp6", null));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"''", "IN=eth0 ", "cf10 b r1", "cf", "drop: "})
    void foreignPrefixesAreNotOurs(String text) {
        assertThat(PrefixCodec.decode(text)).isEqualTo(Optional.empty());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "cf1|expected \"cf1 <a|b|w> <rule-id> [<reason>]\"",
        "cf1 b|expected \"cf1 <a|b|w> <rule-id> [<reason>]\"",
        "cf1 x r1|verdict letter \"x\" is not a (allowed), b (blocked) or w (would-block)",
        "cf1 b r1 geo extra|expected \"cf1 <a|b|w> <rule-id> [<reason>]\"",
        "cf1 b r 1|reason \"1\" is not a known reason",
        "cf1 b r1 shrug|reason \"shrug\" is not a known reason",
        "cf1 b r\u00e91|rule id \"r\u00e91\" is not 1-96 characters"})
    void malformedPrefixesSayWhatIsWrong(String text, String problem) {
        assertThatThrownBy(() -> PrefixCodec.decode(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("log prefix \"" + text + "\": ").hasMessageContaining(problem);
    }

    @Test
    void ruleIdsThatCannotFitOrWouldSplitAreRefused() {
        assertThatThrownBy(() -> PrefixCodec.encode(new LogPrefix(Verdict.BLOCKED, "two words", null)))
                .hasMessageStartingWith("ruleId: \"two words\" cannot go into a log prefix");
        String longest = "r".repeat(96);
        assertThat(PrefixCodec.encode(new LogPrefix(Verdict.BLOCKED, longest, Reason.UNKNOWN_DESTINATION))).hasSizeLessThanOrEqualTo(127);
        assertThatThrownBy(() -> PrefixCodec.encode(new LogPrefix(Verdict.BLOCKED, "r".repeat(97), null)))
                .hasMessageContaining("cannot go into a log prefix");
    }
}
