package dev.clawfence.policy.render;

import dev.clawfence.policy.Connection;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Host;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.Box;
import dev.clawfence.policy.compile.CompiledInbound;
import dev.clawfence.policy.compile.CompiledOutbound;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import java.math.BigInteger;

/**
 * What the rendered ruleset does with a new tcp/udp/echo connection that arrives on (or leaves by) a
 * non-loopback interface, rule by rule as {@link NftRenderer} writes the chains, evaluated on the
 * compiled sets. Tests hold it against the {@link dev.clawfence.policy.Evaluator}; the kernel test holds
 * the kernel against both.
 */
final class RulesetModel {

    record Outcome(Verdict verdict, Reason reason) {}

    private RulesetModel() {}

    static Outcome decide(CompiledPolicy policy, Connection c) {
        Outcome outcome = c.direction() == Direction.INBOUND ? input(policy, c) : output(policy, c);
        Mode mode = policy.modes().of(c.direction());
        return outcome.verdict() == Verdict.BLOCKED && mode == Mode.MONITOR ? new Outcome(Verdict.WOULD_BLOCK, outcome.reason()) : outcome;
    }

    private static Outcome input(CompiledPolicy policy, Connection c) {
        Host source = c.from();
        boolean v4 = source.isIPv4();
        if (contains(v4 ? policy.platform().management4() : policy.platform().management6(), source)) {
            return allowed(Reason.PLATFORM);
        }
        if (policy.modes().inbound() == Mode.OFF) {
            return allowed(Reason.MODE_OFF);
        }
        CompiledInbound in = policy.inbound();
        boolean ports = c.proto().hasPorts();
        if (ports && !containsPort(in.openPorts(), c.proto(), c.port())) {
            return blocked(Reason.PORT_CLOSED);
        }
        if (ports ? containsBox(v4 ? in.allow4() : in.allow6(), source, c.proto(), c.port())
                : contains(v4 ? in.allowAddresses4() : in.allowAddresses6(), source)) {
            return allowed(Reason.ALLOWLISTED);
        }
        if (in.allowlistActive()) {
            return blocked(Reason.NOT_ALLOWLISTED);
        }
        boolean listed = contains(v4 ? in.geo4() : in.geo6(), source);
        if ((in.geoMode() == GeoMode.BLOCK && listed) || (in.geoMode() == GeoMode.ALLOW && !listed)) {
            return blocked(Reason.GEO);
        }
        return allowed(Reason.DEFAULT);
    }

    private static Outcome output(CompiledPolicy policy, Connection c) {
        Host destination = c.to();
        boolean v4 = destination.isIPv4();
        boolean ports = c.proto().hasPorts();
        if (contains(v4 ? policy.platform().controlPlane4() : policy.platform().controlPlane6(), destination)) {
            return allowed(Reason.PLATFORM);
        }
        if (ports && c.port() == 53 && contains(v4 ? policy.platform().dns4() : policy.platform().dns6(), destination)) {
            return allowed(Reason.PLATFORM);
        }
        if (policy.modes().outbound() == Mode.OFF) {
            return allowed(Reason.MODE_OFF);
        }
        CompiledOutbound out = policy.outbound();
        if (ports ? containsBox(v4 ? out.destinations4() : out.destinations6(), destination, c.proto(), c.port())
                : contains(v4 ? out.destinationAddresses4() : out.destinationAddresses6(), destination)) {
            return allowed(Reason.DESTINATION_ALLOWED);
        }
        if (ports && !containsPort(out.openPorts(), c.proto(), c.port())) {
            return blocked(Reason.PORT_CLOSED);
        }
        if (out.defaultAction() == DefaultAction.DENY) {
            return blocked(Reason.UNKNOWN_DESTINATION);
        }
        return allowed(Reason.DEFAULT);
    }

    private static Outcome allowed(Reason reason) {
        return new Outcome(Verdict.ALLOWED, reason);
    }

    private static Outcome blocked(Reason reason) {
        return new Outcome(Verdict.BLOCKED, reason);
    }

    static boolean contains(CompiledSet<AddressRange> set, Host host) {
        return set.elements().stream().anyMatch(range -> inRange(range, host));
    }

    static boolean containsPort(CompiledSet<PortSpec> set, Protocol proto, int port) {
        return set.elements().stream().anyMatch(spec -> spec.covers(proto, port));
    }

    static boolean containsBox(CompiledSet<Box> set, Host host, Protocol proto, int port) {
        return set.elements().stream().anyMatch(box -> inRange(box.addresses(), host) && box.ports().covers(proto, port));
    }

    private static boolean inRange(AddressRange range, Host host) {
        if (range.first().isIPv4() != host.isIPv4()) {
            return false;
        }
        BigInteger value = host.address().getValue();
        return range.first().getValue().compareTo(value) <= 0 && value.compareTo(range.last().getValue()) <= 0;
    }
}
