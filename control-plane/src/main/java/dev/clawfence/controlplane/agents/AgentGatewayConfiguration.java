package dev.clawfence.controlplane.agents;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.time.Duration;
import java.util.List;

/**
 * The agent gateway's settings ({@code clawfence.agent-gateway.*}).
 *
 * @param enabled whether to start the gateway at all (default true)
 * @param port the TLS gRPC port agents connect to ({@code CLAWFENCE_AGENT_GATEWAY_PORT}, default 50052; 0 picks
 *     a free port, for tests)
 * @param serverNames DNS names and IP addresses the gateway's server certificate names (default
 *     {@code localhost}, {@code 127.0.0.1}, {@code ::1})
 * @param certificateValidity how long an agent certificate is valid (default 30 days)
 * @param endpointAddresses addresses or CIDRs agents reach the gateway at; compiled into every policy
 *     as control-plane endpoints so an enforcing outbound policy never cuts an agent off (default none)
 */
@ConfigurationProperties("clawfence.agent-gateway")
public record AgentGatewayConfiguration(
        @Nullable Boolean enabled,
        @Nullable Integer port,
        @Nullable List<String> serverNames,
        @Nullable Duration certificateValidity,
        @Nullable List<String> endpointAddresses) {

    public boolean isEnabled() {
        return enabled == null || enabled;
    }

    public int portOrDefault() {
        return port == null ? 50052 : port;
    }

    public List<String> serverNamesOrDefault() {
        return serverNames == null || serverNames.isEmpty() ? List.of("localhost", "127.0.0.1", "::1") : serverNames;
    }

    public Duration certificateValidityOrDefault() {
        return certificateValidity == null ? Duration.ofDays(30) : certificateValidity;
    }

    public List<String> endpointAddressesOrEmpty() {
        return endpointAddresses == null ? List.of() : endpointAddresses;
    }
}
