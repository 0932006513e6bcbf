package dev.clawfence.controlplane.agents;

import com.google.protobuf.ByteString;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.Box;
import dev.clawfence.proto.agent.v1.CompiledPolicy;
import dev.clawfence.proto.agent.v1.CompiledSet;
import dev.clawfence.proto.agent.v1.DefaultAction;
import dev.clawfence.proto.agent.v1.DomainEntry;
import dev.clawfence.proto.agent.v1.GeoMode;
import dev.clawfence.proto.agent.v1.Mode;
import dev.clawfence.proto.agent.v1.PortRange;
import dev.clawfence.proto.agent.v1.Protocol;
import dev.clawfence.proto.agent.v1.ScheduledPolicy;
import dev.clawfence.proto.agent.v1.SetRef;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The one place where the policy module's compiled policy becomes its protobuf form: modes and enums
 * by name, addresses as 4 or 16 bytes in network order, ports as ranges, sets named by their content
 * hash in the policy and carried separately (so that a sender can leave out sets the agent holds).
 */
public final class CompiledPolicyWire {

    /**
     * A compiled policy on the wire: the policy (with set references), its expiry schedule, and the
     * content of the sets they name: the policy's one per reference, then each content only the
     * schedule uses, once.
     */
    public record Wire(CompiledPolicy policy, List<ScheduledPolicy> scheduled, List<CompiledSet> sets) {

        public Wire {
            scheduled = List.copyOf(scheduled);
            sets = List.copyOf(sets);
        }
    }

    private CompiledPolicyWire() {}

    /** {@code compiled} without a schedule. */
    public static Wire toWire(dev.clawfence.policy.compile.CompiledPolicy compiled) {
        return toWire(compiled, Stream.empty(), 0);
    }

    /**
     * {@code compiled} with as much of {@code schedule} as fits: the first step that would take the
     * update (policy, schedule and every set, each content once) past {@code maxUpdateBytes} is left
     * out with every later one, and is the last one {@code schedule} is asked for. The schedule then
     * ends early, which the agent sees from the last step's {@code valid_until}; a policy that alone
     * takes the budget gets none. This keeps a large allowlist with many expiries from multiplying an
     * update beyond what one gRPC message carries.
     */
    public static Wire toWire(dev.clawfence.policy.compile.CompiledPolicy compiled,
            Stream<dev.clawfence.policy.compile.ScheduledPolicy> schedule, long maxUpdateBytes) {
        CompiledPolicy main = policy(compiled);
        // The main policy's sets one per reference, as before; a schedule adds only content not yet there.
        List<CompiledSet> sets = compiled.sets().stream().map(CompiledPolicyWire::set).toList();
        Map<String, CompiledSet> byHash = new LinkedHashMap<>();
        sets.forEach(set -> byHash.putIfAbsent(set.getHash(), set));
        List<CompiledSet> all = new ArrayList<>(sets);
        List<ScheduledPolicy> scheduled = new ArrayList<>();
        long size = main.getSerializedSize() + byHash.values().stream().mapToLong(CompiledSet::getSerializedSize).sum();
        Iterator<dev.clawfence.policy.compile.ScheduledPolicy> steps = schedule.iterator();
        while (steps.hasNext()) {
            dev.clawfence.policy.compile.ScheduledPolicy step = steps.next();
            Map<String, CompiledSet> added = new LinkedHashMap<>();
            for (var set : step.policy().sets()) {
                if (!byHash.containsKey(set.hash()) && !added.containsKey(set.hash())) {
                    added.put(set.hash(), set(set));
                }
            }
            ScheduledPolicy wire = ScheduledPolicy.newBuilder().setEffectiveFromEpochMillis(step.effectiveFrom().toEpochMilli())
                    .setPolicy(policy(step.policy())).build();
            long stepSize = wire.getSerializedSize() + added.values().stream().mapToLong(CompiledSet::getSerializedSize).sum();
            if (size + stepSize > maxUpdateBytes) {
                break;
            }
            size += stepSize;
            byHash.putAll(added);
            all.addAll(added.values());
            scheduled.add(wire);
        }
        return new Wire(main, scheduled, all);
    }

    /** The policy with its sets named by hash. */
    private static CompiledPolicy policy(dev.clawfence.policy.compile.CompiledPolicy compiled) {
        CompiledPolicy.Builder policy = CompiledPolicy.newBuilder()
                .setInboundMode(mode(compiled.modes().inbound()))
                .setOutboundMode(mode(compiled.modes().outbound()))
                .setAllowlistActive(compiled.inbound().allowlistActive())
                .setGeoMode(switch (compiled.inbound().geoMode()) {
                    case NONE -> GeoMode.GEO_MODE_NONE;
                    case ALLOW -> GeoMode.GEO_MODE_ALLOW;
                    case BLOCK -> GeoMode.GEO_MODE_BLOCK;
                })
                .setDefaultAction(switch (compiled.outbound().defaultAction()) {
                    case ALLOW -> DefaultAction.DEFAULT_ACTION_ALLOW;
                    case DENY -> DefaultAction.DEFAULT_ACTION_DENY;
                })
                .setValidUntilEpochMillis(compiled.validUntil() == null ? 0 : compiled.validUntil().toEpochMilli());
        for (var domain : compiled.outbound().domains()) {
            policy.addDomains(DomainEntry.newBuilder().setName(domain.name()).setWildcard(domain.wildcard())
                    .addAllPorts(domain.ports().stream().map(CompiledPolicyWire::ports).toList()));
        }
        for (var set : compiled.sets()) {
            policy.addSets(SetRef.newBuilder().setName(set.name()).setHash(set.hash()));
        }
        return policy.build();
    }

    private static CompiledSet set(dev.clawfence.policy.compile.CompiledSet<?> set) {
        CompiledSet.Builder out = CompiledSet.newBuilder().setName(set.name()).setHash(set.hash())
                .setType(switch (set.type()) {
                    case IPV4_ADDRESSES -> CompiledSet.Type.IPV4_ADDRESSES;
                    case IPV6_ADDRESSES -> CompiledSet.Type.IPV6_ADDRESSES;
                    case PORTS -> CompiledSet.Type.PORTS;
                    case IPV4_BOXES -> CompiledSet.Type.IPV4_BOXES;
                    case IPV6_BOXES -> CompiledSet.Type.IPV6_BOXES;
                });
        for (Object element : set.elements()) {
            switch (element) {
                case AddressRange range -> out.addAddresses(addresses(range));
                case PortSpec ports -> out.addPorts(ports(ports));
                case Box box -> out.addBoxes(dev.clawfence.proto.agent.v1.Box.newBuilder()
                        .setAddresses(addresses(box.addresses())).setPorts(ports(box.ports())));
                default -> throw new IllegalArgumentException("set " + set.name() + " holds a " + element.getClass());
            }
        }
        return out.build();
    }

    private static dev.clawfence.proto.agent.v1.AddressRange addresses(AddressRange range) {
        return dev.clawfence.proto.agent.v1.AddressRange.newBuilder()
                .setFirst(ByteString.copyFrom(range.first().getBytes()))
                .setLast(ByteString.copyFrom(range.last().getBytes()))
                .build();
    }

    private static PortRange ports(PortSpec spec) {
        return PortRange.newBuilder()
                .setProtocol(switch (spec.proto()) {
                    case TCP -> Protocol.PROTOCOL_TCP;
                    case UDP -> Protocol.PROTOCOL_UDP;
                    case ICMP -> throw new IllegalArgumentException("ICMP has no ports");
                })
                .setFirst(spec.port())
                .setLast(spec.last())
                .build();
    }

    private static Mode mode(dev.clawfence.policy.Mode mode) {
        return switch (mode) {
            case OFF -> Mode.MODE_OFF;
            case MONITOR -> Mode.MODE_MONITOR;
            case ENFORCE -> Mode.MODE_ENFORCE;
        };
    }
}
