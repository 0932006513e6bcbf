package dev.clawfence.policy.compile;

import dev.clawfence.policy.Modes;
import java.time.Instant;
import java.util.List;

/**
 * What an edge agent enforces: a policy compiled against the platform's rules, the country data and a
 * point in time, as named, content-hashed sets of disjoint elements. It carries no user text. It is
 * valid until {@code validUntil} (the earliest future allowlist expiry; null when nothing expires), when
 * the agent must recompile or apply a newer version.
 */
public record CompiledPolicy(Modes modes, PlatformSets platform, CompiledInbound inbound, CompiledOutbound outbound, Instant validUntil) {

    /** Every set in a fixed order (platform, inbound, outbound); names are distinct. */
    public List<CompiledSet<?>> sets() {
        return List.of(
                platform.management4(), platform.management6(),
                platform.controlPlane4(), platform.controlPlane6(),
                platform.dns4(), platform.dns6(),
                inbound.openPorts(), inbound.allow4(), inbound.allow6(),
                inbound.allowAddresses4(), inbound.allowAddresses6(),
                inbound.geo4(), inbound.geo6(),
                outbound.openPorts(), outbound.destinations4(), outbound.destinations6(),
                outbound.destinationAddresses4(), outbound.destinationAddresses6());
    }
}
