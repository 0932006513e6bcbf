package dev.clawfence.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.controlplane.demo.DemoTenant;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoIT {

    private final TestServer server = TestServer.get();

    @Test
    void demoTenantIsCreatedOnceAndGetsAFreshTokenEachStart() {
        DemoTenant demo = server.context().getBean(DemoTenant.class);

        DemoTenant.Demo first = demo.ensure();
        DemoTenant.Demo second = demo.ensure();

        assertThat(second.tenantId()).isEqualTo(first.tenantId());
        assertThat(second.token()).isNotEqualTo(first.token()).startsWith("cf_");
        Api previous = server.admin().withToken(first.token());
        Api current = server.admin().withToken(second.token());
        String policy = "/api/v1/tenants/" + second.tenantId() + "/network/policy";
        assertThat(previous.get(policy).status()).isEqualTo(401);
        Api.Response response = current.get(policy);
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.map()).containsEntry("version", 2);
        assertThat((Map<String, Object>) ((Map<String, Object>) response.map().get("policy")).get("mode"))
                .containsEntry("inbound", "monitor").containsEntry("outbound", "enforce");
        assertThat(current.post("/api/v1/tenants/" + second.tenantId() + "/network/simulate",
                Map.of("direction", "outbound", "to", "203.0.113.80", "port", 443, "proto", "tcp")).map())
                .containsEntry("verdict", "blocked").containsEntry("reason", "unknown-destination");
    }
}
