package dev.clawfence.policy.compile;

import dev.clawfence.policy.PortSpec;
import java.util.List;

/**
 * An outbound destination given by name, for the agent to resolve at run time: {@code name} itself, or
 * with {@code wildcard} every name below it (not {@code name} itself). {@code ports} are what the entry
 * opens (its own ports, or {@code outbound.ports} when it has none), merged; the agent adds each
 * resolved address with these ports to the dynamic domain sets. Entries with the same name and kind are
 * merged into one.
 */
public record DomainEntry(String name, boolean wildcard, List<PortSpec> ports) {

    public DomainEntry {
        ports = List.copyOf(ports);
    }

    /** The name as written in a policy: {@code example.com} or {@code *.example.com}. */
    @Override
    public String toString() {
        return (wildcard ? "*." : "") + name + " " + ports;
    }
}
