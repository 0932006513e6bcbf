package dev.clawfence.controlplane.enrollment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class EnrollmentTokenTest {

    private static final String PIN = "A".repeat(43);

    @Test
    void aGeneratedTokenParsesBackWithItsPin() {
        EnrollmentToken token = EnrollmentToken.generate(PIN);

        EnrollmentToken parsed = EnrollmentToken.parse(token.toString());

        assertThat(token.toString()).matches("cfe1\\.[A-Za-z0-9_-]{43}\\.A{43}");
        assertThat(parsed).isEqualTo(token);
        assertThat(parsed.secretHash()).hasSize(32).isEqualTo(token.secretHash());
        assertThat(EnrollmentToken.generate(PIN).secret()).isNotEqualTo(token.secret());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "cf_abc|expected cfe1.<secret>.<pin>",
            "cfe2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|expected cfe1",
            "cfe1.short.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|secret part is malformed",
            "cfe1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bad+pin|CA pin is malformed",
            "cfe1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x|expected cfe1",
    })
    void malformedTokensAreRefusedWithAReason(String text, String reason) {
        assertThatThrownBy(() -> EnrollmentToken.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }
}
