package dev.clawfence.controlplane.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import org.junit.jupiter.api.Test;

class HealthIT {

    private final Api anonymous = TestServer.get().admin().withToken(null);

    @Test
    void healthLivenessAndReadinessAnswerUpWithoutToken() {
        for (String path : new String[] {"/health", "/health/liveness", "/health/readiness"}) {
            Api.Response response = anonymous.get(path);

            assertThat(response.status()).as(path).isEqualTo(200);
            assertThat(response.map()).as(path).containsEntry("status", "UP");
        }
    }
}
