package dev.clawfence.controlplane.events;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;

/**
 * When traffic is flagged ({@code clawfence.flagged.*}).
 *
 * @param manyBlocked blocked (or, in monitor mode, would-block) inbound attempts from one source in the range
 *     that make it a {@code many-blocked} flag (default 100)
 * @param probedPorts distinct destination ports one source was refused on in the range that make it a
 *     {@code port-probe} flag (default 10)
 */
@ConfigurationProperties("clawfence.flagged")
public record FlaggedConfiguration(@Nullable Long manyBlocked, @Nullable Integer probedPorts) {

    public FlaggedConfiguration {
        if (manyBlocked != null && manyBlocked < 1) {
            throw new IllegalArgumentException("clawfence.flagged.many-blocked: " + manyBlocked + " must be at least 1");
        }
        if (probedPorts != null && probedPorts < 2) {
            throw new IllegalArgumentException("clawfence.flagged.probed-ports: " + probedPorts + " must be at least 2");
        }
    }

    public long manyBlockedOrDefault() {
        return manyBlocked == null ? 100 : manyBlocked;
    }

    public int probedPortsOrDefault() {
        return probedPorts == null ? 10 : probedPorts;
    }
}
