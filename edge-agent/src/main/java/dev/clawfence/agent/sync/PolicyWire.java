package dev.clawfence.agent.sync;

import com.google.protobuf.ByteString;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.GeoMode;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.compile.AddressRange;
import dev.clawfence.policy.compile.Box;
import dev.clawfence.policy.compile.CompiledInbound;
import dev.clawfence.policy.compile.CompiledOutbound;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CompiledSet;
import dev.clawfence.policy.compile.DomainEntry;
import dev.clawfence.policy.compile.PlatformSets;
import dev.clawfence.policy.compile.ScheduledPolicy;
import dev.clawfence.policy.compile.SetType;
import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Converts between the wire form of a policy version ({@code clawfence.agent.v1.PolicyUpdate}) and the
 * policy module's {@link CompiledPolicy}; the only class that knows both. Sets are content-addressed: the
 * policy names each set with its hash, and the content comes from the update or from the agent's set
 * store. Every set is checked against its hash, its expected type and its name before it is used, so a
 * damaged or forged set is refused rather than enforced.
 */
public final class PolicyWire {

    /** The set names of a compiled policy in {@link CompiledPolicy#sets()} order, with their types. */
    static final Map<String, SetType> SETS = new LinkedHashMap<>();

    static {
        String[][] names = {
                {"mgmt4", "IPV4_ADDRESSES"}, {"mgmt6", "IPV6_ADDRESSES"}, {"cp4", "IPV4_ADDRESSES"}, {"cp6", "IPV6_ADDRESSES"},
                {"dns4", "IPV4_ADDRESSES"}, {"dns6", "IPV6_ADDRESSES"}, {"in_ports", "PORTS"}, {"allow4", "IPV4_BOXES"},
                {"allow6", "IPV6_BOXES"}, {"allow4_addrs", "IPV4_ADDRESSES"}, {"allow6_addrs", "IPV6_ADDRESSES"},
                {"geo4", "IPV4_ADDRESSES"}, {"geo6", "IPV6_ADDRESSES"}, {"out_ports", "PORTS"}, {"dest4", "IPV4_BOXES"},
                {"dest6", "IPV6_BOXES"}, {"dest4_addrs", "IPV4_ADDRESSES"}, {"dest6_addrs", "IPV6_ADDRESSES"}};
        for (String[] name : names) {
            SETS.put(name[0], SetType.valueOf(name[1]));
        }
    }

    private PolicyWire() {}

    /**
     * The compiled policy of {@code update}; each set named in it is taken from {@code update.sets} or,
     * when absent there, from {@code known} (by hash).
     *
     * @throws WireException when a set is missing, of the wrong type, or does not match its hash, or a
     *     field is out of range
     */
    public static CompiledPolicy toDomain(dev.clawfence.proto.agent.v1.PolicyUpdate update, Function<String, Optional<dev.clawfence.proto.agent.v1.CompiledSet>> known) throws WireException {
        return toDomain(complete(update, known));
    }

    /**
     * {@code update} with the content of every set it names inline (from the update or {@code known}),
     * each content once: the form the agent stores. Its schedule is checked whole here (ascending
     * instants, each step a policy whose sets resolve and match their hashes), so that a bad step fails
     * the update when it arrives rather than when the agent would switch to it, offline.
     */
    public static dev.clawfence.proto.agent.v1.PolicyUpdate complete(dev.clawfence.proto.agent.v1.PolicyUpdate update, Function<String, Optional<dev.clawfence.proto.agent.v1.CompiledSet>> known) throws WireException {
        if (!update.hasPolicy()) {
            throw new WireException("policy_update.policy is missing");
        }
        Map<String, dev.clawfence.proto.agent.v1.CompiledSet> byHash = new HashMap<>();
        for (dev.clawfence.proto.agent.v1.CompiledSet set : update.getSetsList()) {
            byHash.putIfAbsent(set.getHash(), set);
        }
        List<dev.clawfence.proto.agent.v1.CompiledPolicy> policies = new ArrayList<>();
        policies.add(update.getPolicy());
        long previous = Long.MIN_VALUE;
        for (int i = 0; i < update.getScheduledCount(); i++) {
            dev.clawfence.proto.agent.v1.ScheduledPolicy step = update.getScheduled(i);
            if (!step.hasPolicy()) {
                throw new WireException("policy_update.scheduled[" + i + "].policy is missing");
            }
            long from = step.getEffectiveFromEpochMillis();
            if (from <= 0 || from <= previous) {
                throw new WireException("policy_update.scheduled[" + i + "].effective_from_epoch_millis " + from
                        + " must be positive and after the previous step's (" + (previous == Long.MIN_VALUE ? "none" : previous) + ")");
            }
            previous = from;
            policies.add(step.getPolicy());
        }
        Map<String, dev.clawfence.proto.agent.v1.CompiledSet> inline = new LinkedHashMap<>();
        for (dev.clawfence.proto.agent.v1.CompiledPolicy policy : policies) {
            for (dev.clawfence.proto.agent.v1.SetRef ref : policy.getSetsList()) {
                dev.clawfence.proto.agent.v1.CompiledSet set = byHash.get(ref.getHash());
                if (set == null) {
                    set = known.apply(ref.getHash()).orElseThrow(() -> new WireException(
                            "set " + ref.getName() + " (hash " + ref.getHash() + ") is neither in the update nor held by the agent"));
                }
                inline.putIfAbsent(ref.getHash(), set);
            }
        }
        dev.clawfence.proto.agent.v1.PolicyUpdate complete = update.toBuilder().clearSets().addAllSets(inline.values()).build();
        Map<String, CompiledSet<?>> checked = new HashMap<>();
        for (int i = 0; i < update.getScheduledCount(); i++) {
            try {
                policy(update.getScheduled(i).getPolicy(), inline, checked);
            } catch (WireException e) {
                throw new WireException("policy_update.scheduled[" + i + "]: " + e.getMessage());
            }
        }
        return complete;
    }

    /** The compiled policy of a complete update (every named set inline). */
    public static CompiledPolicy toDomain(dev.clawfence.proto.agent.v1.PolicyUpdate update) throws WireException {
        Map<String, dev.clawfence.proto.agent.v1.CompiledSet> byHash = new HashMap<>();
        update.getSetsList().forEach(set -> byHash.putIfAbsent(set.getHash(), set));
        return policy(update.getPolicy(), byHash, new HashMap<>());
    }

    /** The expiry schedule of a complete update, in its order. */
    public static List<ScheduledPolicy> schedule(dev.clawfence.proto.agent.v1.PolicyUpdate update) throws WireException {
        Map<String, dev.clawfence.proto.agent.v1.CompiledSet> byHash = new HashMap<>();
        update.getSetsList().forEach(set -> byHash.putIfAbsent(set.getHash(), set));
        Map<String, CompiledSet<?>> checked = new HashMap<>();
        List<ScheduledPolicy> schedule = new ArrayList<>();
        for (dev.clawfence.proto.agent.v1.ScheduledPolicy step : update.getScheduledList()) {
            schedule.add(new ScheduledPolicy(Instant.ofEpochMilli(step.getEffectiveFromEpochMillis()), policy(step.getPolicy(), byHash, checked)));
        }
        return schedule;
    }

    /**
     * {@code update} as of {@code now}: its policy replaced by the last scheduled one that is in force
     * by then, and the steps up to that one dropped (the same version, as if compiled at that step).
     * Returns {@code update} itself when no step has begun. Sets are left as they are; {@link #complete}
     * trims them to the ones still named.
     */
    public static dev.clawfence.proto.agent.v1.PolicyUpdate effectiveAt(dev.clawfence.proto.agent.v1.PolicyUpdate update, Instant now) {
        long at = now.toEpochMilli();
        int begun = 0;
        while (begun < update.getScheduledCount() && update.getScheduled(begun).getEffectiveFromEpochMillis() <= at) {
            begun++;
        }
        if (begun == 0) {
            return update;
        }
        return update.toBuilder()
                .setPolicy(update.getScheduled(begun - 1).getPolicy())
                .clearScheduled()
                .addAllScheduled(update.getScheduledList().subList(begun, update.getScheduledCount()))
                .build();
    }

    /** One compiled policy whose sets come from {@code byHash}; {@code checked} caches sets already converted, by name and hash. */
    private static CompiledPolicy policy(dev.clawfence.proto.agent.v1.CompiledPolicy wire, Map<String, dev.clawfence.proto.agent.v1.CompiledSet> byHash,
            Map<String, CompiledSet<?>> checked) throws WireException {
        Map<String, CompiledSet<?>> sets = new HashMap<>();
        for (dev.clawfence.proto.agent.v1.SetRef ref : wire.getSetsList()) {
            SetType expected = SETS.get(ref.getName());
            if (expected == null) {
                throw new WireException("policy.sets: unknown set name \"" + printable(ref.getName()) + "\"");
            }
            dev.clawfence.proto.agent.v1.CompiledSet set = byHash.get(ref.getHash());
            if (set == null) {
                throw new WireException("set " + ref.getName() + " (hash " + ref.getHash() + ") is missing from the update");
            }
            String key = ref.getName() + "/" + ref.getHash();
            CompiledSet<?> domain = checked.get(key);
            if (domain == null) {
                domain = set(set, ref.getName());
                checked.put(key, domain);
            }
            if (domain.type() != expected) {
                throw new WireException("set " + ref.getName() + " has type " + domain.type() + ", expected " + expected);
            }
            if (sets.put(ref.getName(), domain) != null) {
                throw new WireException("policy.sets names " + ref.getName() + " twice");
            }
        }
        for (String name : SETS.keySet()) {
            if (!sets.containsKey(name)) {
                throw new WireException("policy.sets lacks set " + name);
            }
        }
        PlatformSets platform = new PlatformSets(get(sets, "mgmt4"), get(sets, "mgmt6"), get(sets, "cp4"), get(sets, "cp6"),
                get(sets, "dns4"), get(sets, "dns6"));
        CompiledInbound inbound = new CompiledInbound(get(sets, "in_ports"), get(sets, "allow4"), get(sets, "allow6"),
                get(sets, "allow4_addrs"), get(sets, "allow6_addrs"), wire.getAllowlistActive(), geoMode(wire.getGeoMode()),
                get(sets, "geo4"), get(sets, "geo6"));
        List<DomainEntry> domains = new ArrayList<>();
        for (dev.clawfence.proto.agent.v1.DomainEntry entry : wire.getDomainsList()) {
            List<PortSpec> ports = new ArrayList<>();
            for (dev.clawfence.proto.agent.v1.PortRange port : entry.getPortsList()) {
                ports.add(port(port));
            }
            if (!entry.getName().matches("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")) {
                throw new WireException("policy.domains: \"" + printable(entry.getName()) + "\" is not a lower-case DNS name");
            }
            domains.add(new DomainEntry(entry.getName(), entry.getWildcard(), ports));
        }
        CompiledOutbound outbound = new CompiledOutbound(get(sets, "out_ports"), get(sets, "dest4"), get(sets, "dest6"),
                get(sets, "dest4_addrs"), get(sets, "dest6_addrs"), domains, defaultAction(wire.getDefaultAction()));
        Instant validUntil = wire.getValidUntilEpochMillis() == 0 ? null : Instant.ofEpochMilli(wire.getValidUntilEpochMillis());
        return new CompiledPolicy(new Modes(mode(wire.getInboundMode(), "inbound_mode"), mode(wire.getOutboundMode(), "outbound_mode")),
                platform, inbound, outbound, validUntil);
    }

    /** The complete wire form of {@code policy} as version {@code version}: every set inline, each content once. */
    public static dev.clawfence.proto.agent.v1.PolicyUpdate toWire(long version, CompiledPolicy policy) {
        return toWire(version, policy, List.of());
    }

    /** The complete wire form of {@code policy} with its expiry {@code schedule}: every set inline, each content once. */
    public static dev.clawfence.proto.agent.v1.PolicyUpdate toWire(long version, CompiledPolicy policy, List<ScheduledPolicy> schedule) {
        Map<String, dev.clawfence.proto.agent.v1.CompiledSet> sets = new LinkedHashMap<>();
        dev.clawfence.proto.agent.v1.PolicyUpdate.Builder update = dev.clawfence.proto.agent.v1.PolicyUpdate.newBuilder()
                .setVersion(version).setPolicy(policy(policy, sets));
        for (ScheduledPolicy step : schedule) {
            update.addScheduled(dev.clawfence.proto.agent.v1.ScheduledPolicy.newBuilder()
                    .setEffectiveFromEpochMillis(step.effectiveFrom().toEpochMilli()).setPolicy(policy(step.policy(), sets)));
        }
        return update.addAllSets(sets.values()).build();
    }

    private static dev.clawfence.proto.agent.v1.CompiledPolicy policy(CompiledPolicy policy, Map<String, dev.clawfence.proto.agent.v1.CompiledSet> sets) {
        dev.clawfence.proto.agent.v1.CompiledPolicy.Builder wire = dev.clawfence.proto.agent.v1.CompiledPolicy.newBuilder()
                .setInboundMode(mode(policy.modes().inbound()))
                .setOutboundMode(mode(policy.modes().outbound()))
                .setAllowlistActive(policy.inbound().allowlistActive())
                .setGeoMode(switch (policy.inbound().geoMode()) {
                    case NONE -> dev.clawfence.proto.agent.v1.GeoMode.GEO_MODE_NONE;
                    case ALLOW -> dev.clawfence.proto.agent.v1.GeoMode.GEO_MODE_ALLOW;
                    case BLOCK -> dev.clawfence.proto.agent.v1.GeoMode.GEO_MODE_BLOCK;
                })
                .setDefaultAction(policy.outbound().defaultAction() == DefaultAction.ALLOW
                        ? dev.clawfence.proto.agent.v1.DefaultAction.DEFAULT_ACTION_ALLOW : dev.clawfence.proto.agent.v1.DefaultAction.DEFAULT_ACTION_DENY)
                .setValidUntilEpochMillis(policy.validUntil() == null ? 0 : policy.validUntil().toEpochMilli());
        for (DomainEntry entry : policy.outbound().domains()) {
            dev.clawfence.proto.agent.v1.DomainEntry.Builder domain = dev.clawfence.proto.agent.v1.DomainEntry.newBuilder().setName(entry.name()).setWildcard(entry.wildcard());
            entry.ports().forEach(port -> domain.addPorts(port(port)));
            wire.addDomains(domain);
        }
        for (CompiledSet<?> set : policy.sets()) {
            wire.addSets(dev.clawfence.proto.agent.v1.SetRef.newBuilder().setName(set.name()).setHash(set.hash()));
            sets.putIfAbsent(set.hash(), set(set));
        }
        return wire.build();
    }

    /** The wire form of one set. */
    public static dev.clawfence.proto.agent.v1.CompiledSet set(CompiledSet<?> set) {
        dev.clawfence.proto.agent.v1.CompiledSet.Builder wire = dev.clawfence.proto.agent.v1.CompiledSet.newBuilder().setName(set.name()).setHash(set.hash())
                .setType(dev.clawfence.proto.agent.v1.CompiledSet.Type.valueOf(set.type().name()));
        for (Object element : set.elements()) {
            switch (element) {
                case AddressRange range -> wire.addAddresses(range(range));
                case PortSpec port -> wire.addPorts(port(port));
                case Box box -> wire.addBoxes(dev.clawfence.proto.agent.v1.Box.newBuilder().setAddresses(range(box.addresses())).setPorts(port(box.ports())));
                default -> throw new IllegalArgumentException("unexpected element " + element.getClass());
            }
        }
        return wire.build();
    }

    /**
     * One set from the wire, named {@code name} (the name in the policy's reference; content-addressed sets
     * may arrive under another name).
     *
     * @throws WireException when an element is malformed or the content does not match the hash
     */
    public static CompiledSet<?> set(dev.clawfence.proto.agent.v1.CompiledSet wire, String name) throws WireException {
        SetType type = switch (wire.getType()) {
            case IPV4_ADDRESSES -> SetType.IPV4_ADDRESSES;
            case IPV6_ADDRESSES -> SetType.IPV6_ADDRESSES;
            case PORTS -> SetType.PORTS;
            case IPV4_BOXES -> SetType.IPV4_BOXES;
            case IPV6_BOXES -> SetType.IPV6_BOXES;
            default -> throw new WireException("set " + name + ": unknown type " + wire.getTypeValue());
        };
        boolean v4 = type == SetType.IPV4_ADDRESSES || type == SetType.IPV4_BOXES;
        List<Object> elements = new ArrayList<>();
        switch (type) {
            case IPV4_ADDRESSES, IPV6_ADDRESSES -> {
                if (wire.getPortsCount() > 0 || wire.getBoxesCount() > 0) {
                    throw new WireException("set " + name + ": an address set carries ports or boxes");
                }
                for (dev.clawfence.proto.agent.v1.AddressRange range : wire.getAddressesList()) {
                    elements.add(range(range, v4, name));
                }
            }
            case PORTS -> {
                if (wire.getAddressesCount() > 0 || wire.getBoxesCount() > 0) {
                    throw new WireException("set " + name + ": a port set carries addresses or boxes");
                }
                for (dev.clawfence.proto.agent.v1.PortRange port : wire.getPortsList()) {
                    elements.add(port(port));
                }
            }
            case IPV4_BOXES, IPV6_BOXES -> {
                if (wire.getAddressesCount() > 0 || wire.getPortsCount() > 0) {
                    throw new WireException("set " + name + ": a box set carries bare addresses or ports");
                }
                for (dev.clawfence.proto.agent.v1.Box box : wire.getBoxesList()) {
                    elements.add(new Box(range(box.getAddresses(), v4, name), port(box.getPorts())));
                }
            }
        }
        CompiledSet<?> set;
        try {
            set = new CompiledSet<>(name, type, elements, wire.getHash());
        } catch (IllegalArgumentException e) {
            throw new WireException("set " + name + ": " + e.getMessage());
        }
        if (!set.hashMatches()) {
            throw new WireException("set " + name + ": content does not match its hash " + wire.getHash() + "; refused");
        }
        return set;
    }

    private static dev.clawfence.proto.agent.v1.AddressRange range(AddressRange range) {
        return dev.clawfence.proto.agent.v1.AddressRange.newBuilder()
                .setFirst(ByteString.copyFrom(range.first().getBytes()))
                .setLast(ByteString.copyFrom(range.last().getBytes()))
                .build();
    }

    private static AddressRange range(dev.clawfence.proto.agent.v1.AddressRange wire, boolean v4, String set) throws WireException {
        int length = v4 ? 4 : 16;
        if (wire.getFirst().size() != length || wire.getLast().size() != length) {
            throw new WireException("set " + set + ": an address must have " + length + " bytes, not "
                    + wire.getFirst().size() + " and " + wire.getLast().size());
        }
        try {
            return new AddressRange(address(wire.getFirst().toByteArray()), address(wire.getLast().toByteArray()));
        } catch (IllegalArgumentException e) {
            throw new WireException("set " + set + ": " + e.getMessage());
        }
    }

    private static IPAddress address(byte[] bytes) {
        return bytes.length == 4 ? new IPv4Address(bytes) : new IPv6Address(bytes);
    }

    private static dev.clawfence.proto.agent.v1.PortRange port(PortSpec port) {
        return dev.clawfence.proto.agent.v1.PortRange.newBuilder()
                .setProtocol(port.proto() == Protocol.TCP ? dev.clawfence.proto.agent.v1.Protocol.PROTOCOL_TCP : dev.clawfence.proto.agent.v1.Protocol.PROTOCOL_UDP)
                .setFirst(port.port())
                .setLast(port.last())
                .build();
    }

    private static PortSpec port(dev.clawfence.proto.agent.v1.PortRange wire) throws WireException {
        Protocol protocol = switch (wire.getProtocol()) {
            case PROTOCOL_TCP -> Protocol.TCP;
            case PROTOCOL_UDP -> Protocol.UDP;
            default -> throw new WireException("a port range needs protocol tcp or udp, not " + wire.getProtocolValue());
        };
        int first = wire.getFirst();
        int last = wire.getLast();
        if (first < 1 || first > 65535 || last < first || last > 65535) {
            throw new WireException("port range " + Integer.toUnsignedString(first) + "-" + Integer.toUnsignedString(last) + " is not within 1-65535");
        }
        return new PortSpec(protocol, first, last == first ? null : last);
    }

    private static dev.clawfence.proto.agent.v1.Mode mode(Mode mode) {
        return switch (mode) {
            case OFF -> dev.clawfence.proto.agent.v1.Mode.MODE_OFF;
            case MONITOR -> dev.clawfence.proto.agent.v1.Mode.MODE_MONITOR;
            case ENFORCE -> dev.clawfence.proto.agent.v1.Mode.MODE_ENFORCE;
        };
    }

    private static Mode mode(dev.clawfence.proto.agent.v1.Mode wire, String field) throws WireException {
        return switch (wire) {
            case MODE_OFF -> Mode.OFF;
            case MODE_MONITOR -> Mode.MONITOR;
            case MODE_ENFORCE -> Mode.ENFORCE;
            default -> throw new WireException("policy." + field + " is unset or unknown (" + wire.getNumber() + ")");
        };
    }

    private static GeoMode geoMode(dev.clawfence.proto.agent.v1.GeoMode wire) throws WireException {
        return switch (wire) {
            case GEO_MODE_NONE -> GeoMode.NONE;
            case GEO_MODE_ALLOW -> GeoMode.ALLOW;
            case GEO_MODE_BLOCK -> GeoMode.BLOCK;
            default -> throw new WireException("policy.geo_mode is unset or unknown (" + wire.getNumber() + ")");
        };
    }

    private static DefaultAction defaultAction(dev.clawfence.proto.agent.v1.DefaultAction wire) throws WireException {
        return switch (wire) {
            case DEFAULT_ACTION_ALLOW -> DefaultAction.ALLOW;
            case DEFAULT_ACTION_DENY -> DefaultAction.DENY;
            default -> throw new WireException("policy.default_action is unset or unknown (" + wire.getNumber() + ")");
        };
    }

    @SuppressWarnings("unchecked")
    private static <E> CompiledSet<E> get(Map<String, CompiledSet<?>> sets, String name) {
        return (CompiledSet<E>) sets.get(name);
    }

    /** Wire text quoted in an error: printable ASCII only, at most 64 characters. */
    private static String printable(String text) {
        String clean = text.replaceAll("[^\\x20-\\x7e]", "?");
        return clean.length() <= 64 ? clean : clean.substring(0, 61) + "...";
    }
}
