package dev.clawfence.controlplane.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenTextTest {

    @Test
    void tokensAreCfPrefixedBase64urlOf32RandomBytes() {
        String token = TokenText.generate();

        assertThat(token).matches("cf_[A-Za-z0-9_-]{43}");
        assertThat(TokenText.generate()).isNotEqualTo(token);
    }

    @Test
    void hashIsSha256OfTheText() {
        assertThat(TokenText.hash("cf_x")).hasSize(32).isEqualTo(TokenText.hash("cf_x")).isNotEqualTo(TokenText.hash("cf_y"));
    }

    @ParameterizedTest
    @CsvSource({"owner,owner,true", "owner,viewer,true", "admin,owner,false", "admin,admin,true", "viewer,admin,false"})
    void aRoleCoversOnlyRolesUpToItself(String holder, String minted, boolean covers) {
        assertThat(Role.fromWire(holder).covers(Role.fromWire(minted))).isEqualTo(covers);
    }
}
