package dev.clawfence.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConnectionReaderTest {

    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of(Map.of("direction", "sideways", "from", "203.0.113.9", "port", 443, "proto", "tcp"), "direction", "is not one of inbound, outbound"),
                Arguments.of(Map.of("direction", "inbound", "port", 443, "proto", "tcp"), "from", "is required for an inbound connection"),
                Arguments.of(Map.of("direction", "outbound", "port", 443, "proto", "tcp"), "to", "is required for an outbound connection"),
                Arguments.of(Map.of("direction", "inbound", "from", "example.com", "port", 443, "proto", "tcp"), "from", "\"example.com\" is not a valid IP address"),
                Arguments.of(Map.of("direction", "inbound", "from", "::ffff:203.0.113.9", "port", 443, "proto", "tcp"), "from",
                        "write it as IPv4, \"203.0.113.9\""),
                Arguments.of(Map.of("direction", "outbound", "to", "bad_name.example.com", "port", 443, "proto", "tcp"), "to", "cannot contain \"_\""),
                Arguments.of(Map.of("direction", "inbound", "from", "203.0.113.9", "proto", "tcp"), "port", "is required"),
                Arguments.of(Map.of("direction", "inbound", "from", "203.0.113.9", "port", 70000, "proto", "tcp"), "port", "port 70000 is outside 1-65535"),
                Arguments.of(Map.of("direction", "inbound", "from", "203.0.113.9", "port", 443, "proto", "tcp", "country", "XX"), "country",
                        "is not an ISO-3166 alpha-2 country code"),
                Arguments.of(Map.of("direction", "inbound", "from", "203.0.113.9", "port", 443, "proto", "tcp", "expect", "allowed"), "expect", "unknown field"));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void reportsProblemsAtTheFieldPath(Map<String, Object> tree, String path, String message) {
        Validated<Connection> read = ConnectionReader.read(tree);
        assertThat(read.isValid()).isFalse();
        assertThat(read.errors()).singleElement().satisfies(p -> {
            assertThat(p.path()).isEqualTo(path);
            assertThat(p.message()).contains(message);
        });
    }

    @Test
    void readsAndNormalisesAConnection() {
        Map<String, Object> tree = new LinkedHashMap<>(Map.of("direction", "outbound", "from", "2001:DB8::5", "to", "API.Example.COM", "port", 443L, "proto", "tcp"));
        Connection connection = ConnectionReader.read(tree).value();
        assertThat(connection.from().toString()).isEqualTo("2001:db8::5");
        assertThat(connection.to().domain()).isEqualTo("api.example.com");
        assertThat(connection.port()).isEqualTo(443);
        assertThat(PolicyDocumentWriter.connection(connection)).isEqualTo(
                Map.of("direction", "outbound", "from", "2001:db8::5", "to", "api.example.com", "port", 443, "proto", "tcp"));
    }

    @Test
    void factoriesUseTheSameRules() {
        assertThat(Connection.inbound("203.0.113.9", 443, Protocol.TCP).withCountry("de").country()).isEqualTo("DE");
        assertThatThrownBy(() -> Connection.inbound("203.0.113.0/24", 443, Protocol.TCP))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("from: \"203.0.113.0/24\" is a range");
    }
}
