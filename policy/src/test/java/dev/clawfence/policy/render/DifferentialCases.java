package dev.clawfence.policy.render;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Destination;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PolicyValidator;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Problem;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Validated;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Random valid policies and random connections for {@link KernelDifferentialTest}, all drawn from one
 * seed, so that a run is replayed exactly by its seed.
 *
 * <p>Every address is a documentation address from a fixed pool that the test configures once on the
 * client's interface: in each of 198.51.100.0/24, 203.0.113.0/24 and 192.0.2.0/24 the addresses at the
 * edges of the /25, /26, /28 blocks and their neighbours; in seven /48s of 2001:db8::/32 the edges of
 * /48, /64, /120, /126 and /127 blocks and addresses just outside them. Policy CIDRs are blocks (from /0
 * to /32 or /128) around pool addresses, so they contain some pool addresses and miss their neighbours,
 * and connections prefer addresses inside a policy CIDR. Ports likewise: rules use a few ports, and
 * connections mostly go to the edges of the policy's port ranges and just past them (79 and 81 for a
 * rule on 80), on which both sides listen.
 *
 * <p>The policy is built as the JSON tree a client would send and read by {@link PolicyValidator}, so
 * it is valid by the validator's own rules. It is saved a week before {@link #NOW}, which lets allowlist
 * entries carry an {@code expiresAt} that has passed by the time the policy is compiled and evaluated
 * at {@link #NOW} (expired, expiring exactly at {@code NOW}, or still live).
 */
final class DifferentialCases {

    static final Instant NOW = RandomPolicies.NOW;
    static final Instant SAVED = NOW.minus(Duration.ofDays(7));
    /** The host's own addresses, outside the pool: inbound connections go to them. */
    static final String HOST4 = "203.0.113.254";
    static final String HOST6 = "2001:db8:fe::fe";
    /** The ports rules are made of. */
    static final List<Integer> RULE_PORTS = List.of(1, 22, 53, 80, 443, 8080, 8443, 65535);
    /** The rule ports and their neighbours: both namespaces listen on all of them, tcp and udp. */
    static final List<Integer> PROBE_PORTS = RULE_PORTS.stream()
            .flatMap(port -> Stream.of(port - 1, port, port + 1))
            .filter(port -> port >= 1 && port <= 65535)
            .distinct().sorted().toList();
    static final List<String> POOL4;
    static final List<String> POOL6;
    /** Platform addresses the pool holds, which connections visit on purpose now and then. */
    private static final List<String> INBOUND_PLATFORM = List.of("192.0.2.1", "192.0.2.15", "192.0.2.16", "2001:db8:ffff::1", "2001:db8:ffff:1::1");
    private static final List<String> OUTBOUND_PLATFORM = List.of("192.0.2.100", "192.0.2.53", "2001:db8:c0::1", "2001:db8:53::53");
    private static final List<String> DOMAINS = List.of("example.com", "*.example.com", "api.example.org");
    private static final List<String> COUNTRIES = List.of("DE", "FR", "US", "JP");
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        List<String> v4 = new ArrayList<>();
        for (String base : List.of("198.51.100.", "203.0.113.", "192.0.2.")) {
            for (int last : List.of(0, 1, 2, 15, 16, 53, 63, 64, 100, 127, 128, 129, 191, 192, 200, 255)) {
                v4.add(base + last);
            }
        }
        List<String> v6 = new ArrayList<>();
        for (String net : List.of("2001:db8:0", "2001:db8:1", "2001:db8:de", "2001:db8:5", "2001:db8:ffff", "2001:db8:53", "2001:db8:c0")) {
            for (String tail : List.of("::1", "::2", "::4", "::100", ":0:ffff:ffff:ffff:ffff", ":1::1", ":ffff:ffff:ffff:ffff:ffff")) {
                v6.add(canonical(net + tail));
            }
        }
        v6.add(canonical("2001:db8:53::53"));
        POOL4 = List.copyOf(v4);
        POOL6 = List.copyOf(v6);
    }

    /** One connection attempt: {@code peer} is the source inbound and the destination outbound. */
    record Attempt(Direction direction, Protocol proto, String peer, int port) {

        boolean ipv4() {
            return peer.indexOf(':') < 0;
        }
    }

    /** A policy with its JSON and the connections to try against it. */
    record Case(int index, String json, PolicyDocument policy, List<Attempt> attempts) {}

    private final SplittableRandom random;

    private DifferentialCases(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Case {@code index} of the run with {@code runSeed}, made with {@code attempts} connections. */
    static Case of(long runSeed, int index, int attempts) {
        DifferentialCases cases = new DifferentialCases(new SplittableRandom(runSeed ^ (0x9E3779B97F4A7C15L * (index + 1))).nextLong());
        Map<String, Object> tree = cases.policyTree();
        Validated<PolicyDocument> read = PolicyValidator.validate(tree, SAVED);
        String json = json(tree);
        if (!read.isValid()) {
            throw new IllegalStateException("the generator made an invalid policy (case " + index + " of seed " + runSeed + "): "
                    + read.errors().stream().map(Problem::toString).collect(Collectors.joining("; ")) + "\n" + json);
        }
        PolicyDocument policy = read.value();
        List<Attempt> list = new ArrayList<>();
        for (int i = 0; i < attempts; i++) {
            list.add(cases.attempt(policy));
        }
        return new Case(index, json, policy, List.copyOf(list));
    }

    private Map<String, Object> policyTree() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("mode", map("inbound", mode(), "outbound", mode()));

        List<Object> allowlist = new ArrayList<>();
        for (int i = random.nextInt(3) == 0 ? 0 : random.nextInt(1, 6); i > 0; i--) {
            Map<String, Object> entry = map("cidr", cidr());
            portsMaybe(entry);
            entry.put("description", "kerneldiff allowlist entry");
            entry.put("requestedBy", "kerneldiff@example.com");
            if (random.nextInt(3) == 0) {
                entry.put("expiresAt", NOW.plusSeconds(pick(List.of(-48 * 3600L, -1L, 0L, 1L, 72 * 3600L))).toString());
            }
            allowlist.add(entry);
        }
        Map<String, Object> geo = map("mode", pick(List.of("none", "none", "none", "allow", "block")));
        if (!geo.get("mode").equals("none")) {
            geo.put("countries", new ArrayList<>(new TreeSet<>(random.ints(random.nextInt(4), 0, COUNTRIES.size()).mapToObj(COUNTRIES::get).toList())));
        }
        root.put("inbound", map("allowlist", allowlist, "ports", portRules(), "geo", geo));

        List<Object> destinations = new ArrayList<>();
        for (int i = random.nextInt(5) == 0 ? 0 : random.nextInt(1, 6); i > 0; i--) {
            Map<String, Object> entry = random.nextInt(7) == 0 ? map("domain", pick(DOMAINS)) : map("cidr", cidr());
            portsMaybe(entry);
            entry.put("description", "kerneldiff destination");
            entry.put("requestedBy", "kerneldiff@example.com");
            destinations.add(entry);
        }
        root.put("outbound", map("destinations", destinations, "ports", portRules(), "defaultAction", random.nextBoolean() ? "allow" : "deny"));
        return root;
    }

    private String mode() {
        return pick(List.of("enforce", "enforce", "monitor", "off"));
    }

    /** A block around a pool address: it holds that address and, for most prefixes, misses a neighbour. */
    private String cidr() {
        boolean v4 = random.nextInt(5) < 3;
        String address = pick(v4 ? POOL4 : POOL6);
        int prefix = v4 ? pick(List.of(0, 8, 16, 24, 24, 25, 26, 27, 28, 30, 31, 32, 32))
                : pick(List.of(0, 32, 44, 48, 48, 56, 64, 64, 120, 126, 127, 128, 128));
        IPAddress block = new IPAddressString(address).getAddress().toPrefixBlock(prefix);
        return block.getLower().withoutPrefixLength().toCanonicalString() + "/" + prefix;
    }

    private List<Object> portRules() {
        List<Object> rules = new ArrayList<>();
        int count = random.nextInt(10) == 0 ? 0 : random.nextInt(1, 5);
        for (int i = 0; i < count; i++) {
            Map<String, Object> rule = portSpec();
            rule.put("description", "kerneldiff port");
            rules.add(rule);
        }
        return rules;
    }

    private void portsMaybe(Map<String, Object> entry) {
        if (random.nextBoolean()) {
            List<Object> ports = new ArrayList<>();
            for (int i = random.nextInt(1, 4); i > 0; i--) {
                ports.add(portSpec());
            }
            entry.put("ports", ports);
        }
    }

    private Map<String, Object> portSpec() {
        Map<String, Object> spec = map("proto", random.nextBoolean() ? "tcp" : "udp");
        int kind = random.nextInt(10);
        if (kind < 6) {
            spec.put("port", pick(RULE_PORTS));
        } else if (kind < 9) {
            int a = pick(RULE_PORTS);
            int b = pick(RULE_PORTS);
            spec.put("port", Math.min(a, b));
            if (a != b) {
                spec.put("endPort", Math.max(a, b));
            }
        } else {
            spec.put("port", 1);
            spec.put("endPort", 65535);
        }
        return spec;
    }

    private Attempt attempt(PolicyDocument policy) {
        Direction direction = random.nextBoolean() ? Direction.INBOUND : Direction.OUTBOUND;
        List<PortSpec> specs = specs(policy, direction);
        Protocol proto;
        int port;
        if (random.nextInt(10) < 7 && !specs.isEmpty()) {
            // Mostly ports the policy opens, so that the steps after the port step are reached too.
            PortSpec spec = pick(specs);
            proto = spec.proto();
            List<Integer> near = Stream.of(spec.port(), spec.port(), spec.last(), spec.last(), spec.port() - 1, spec.last() + 1)
                    .filter(PROBE_PORTS::contains).toList();
            port = near.isEmpty() ? pick(PROBE_PORTS) : pick(near);
        } else {
            proto = random.nextBoolean() ? Protocol.TCP : Protocol.UDP;
            port = pick(PROBE_PORTS);
        }
        boolean v4 = random.nextInt(5) < 3;
        List<String> cidrs = direction == Direction.INBOUND
                ? policy.inbound().allowlist().stream().map(AllowlistEntry::cidr).toList()
                : policy.outbound().destinations().stream().map(Destination::cidr).filter(cidr -> cidr != null).toList();
        List<String> pool = v4 ? POOL4 : POOL6;
        String peer = null;
        int choice = random.nextInt(10);
        if (choice < 5) {
            List<String> inside = inside(cidrs, pool);
            peer = inside.isEmpty() ? null : pick(inside);
        } else if (choice == 5) {
            List<String> platform = (direction == Direction.INBOUND ? INBOUND_PLATFORM : OUTBOUND_PLATFORM).stream()
                    .filter(address -> (address.indexOf(':') < 0) == v4).toList();
            peer = canonical(pick(platform));
        }
        if (peer == null) {
            peer = pick(pool);
        }
        return new Attempt(direction, proto, peer, port);
    }

    /** Pool addresses inside one randomly chosen CIDR of {@code cidrs} (of the pool's family). */
    private List<String> inside(List<String> cidrs, List<String> pool) {
        if (cidrs.isEmpty()) {
            return List.of();
        }
        IPAddress block = new IPAddressString(pick(cidrs)).getAddress();
        return pool.stream().filter(address -> {
            IPAddress host = new IPAddressString(address).getAddress();
            return host.getIPVersion() == block.getIPVersion() && block.contains(host);
        }).toList();
    }

    /** Every port range the direction's rules and entries name. */
    private static List<PortSpec> specs(PolicyDocument policy, Direction direction) {
        List<PortSpec> specs = new ArrayList<>();
        if (direction == Direction.INBOUND) {
            policy.inbound().ports().stream().map(PortRule::spec).forEach(specs::add);
            policy.inbound().allowlist().forEach(entry -> specs.addAll(entry.ports()));
        } else {
            policy.outbound().ports().stream().map(PortRule::spec).forEach(specs::add);
            policy.outbound().destinations().forEach(entry -> specs.addAll(entry.ports()));
        }
        return specs;
    }

    private <T> T pick(List<T> items) {
        return items.get(random.nextInt(items.size()));
    }

    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    static String canonical(String address) {
        return new IPAddressString(address).getAddress().toCanonicalString();
    }

    private static String json(Object tree) {
        try {
            return JSON.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of maps, lists and strings is always JSON", e);
        }
    }
}
