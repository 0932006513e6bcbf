package dev.clawfence.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import org.junit.jupiter.api.Test;

class OpenApiIT {

    @Test
    void openApiDocumentIsServedWithTheContractPaths() {
        Api.Response response = TestServer.get().admin().withToken(null).get("/swagger/clawfence-control-plane-0.1.yml");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.text()).contains("openapi:", "/api/v1/tenants/{tenant}/network/policy",
                "/api/v1/tenants/{tenant}/network/policy/versions/{n}/restore", "/api/v1/tenants/{tenant}/network/simulate",
                "/api/v1/tenants/{tenant}/network/events", "/api/v1/tenants/{tenant}/network/events/stream");
    }
}
