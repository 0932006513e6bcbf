package dev.clawfence.policy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reads a policy document from a JSON-shaped tree (what any JSON parser produces: {@code Map<String,
 * Object>}, {@code List<Object>}, {@code String}, {@code Number}, {@code Boolean}, {@code null}),
 * validates it and normalises it (canonical CIDRs, lower-case domains). Reports every problem at once,
 * each with its JSON path; unknown fields are errors.
 *
 * <p>Absent sections take their defaults ({@code {}} is the {@linkplain PolicyDocument#defaultPolicy()
 * default policy}); a {@code null} value counts as absent. {@code inbound.ports} and
 * {@code outbound.ports} default to tcp/443 only when absent: an explicit empty list closes every
 * port. An entry's {@code ports}, when present, must not be empty (omit it to cover every port).
 *
 * <p>Errors: wrong JSON types, unknown fields, bad or host-bits-set CIDRs, IPv4/IPv6 mix-ups, ports
 * outside 1-65535, {@code endPort < port}, ports on icmp, unknown country codes, invalid domain names,
 * empty, over-long or multi-line texts, bad or duplicate ids (ids are unique across the document),
 * {@code expiresAt} not ISO-8601 or not in the future, lists over their limits. Warnings: duplicate or
 * redundant entries (an entry inside an earlier-sorted one that already allows all its ports for at
 * least as long), overlapping port rules, countries given while geo is off. Overlap checks sort and
 * sweep, O(n log n).
 */
public final class PolicyValidator {

    /** The most allowlist entries a policy may hold. */
    public static final int MAX_ALLOWLIST_ENTRIES = 50_000;
    /** The most outbound destinations a policy may hold. */
    public static final int MAX_DESTINATIONS = 10_000;
    /** The most port rules per direction. */
    public static final int MAX_PORT_RULES = 1_000;
    /** The most ports one allowlist entry or destination may list. */
    public static final int MAX_ENTRY_PORTS = 100;
    /** The most tests a policy may hold. */
    public static final int MAX_TESTS = 500;
    /** The most countries the geo rule may list. */
    public static final int MAX_COUNTRIES = 300;
    /** The longest description, in characters. */
    public static final int MAX_DESCRIPTION_LENGTH = 500;
    /** The longest requestedBy or createdBy, in characters. */
    public static final int MAX_REQUESTED_BY_LENGTH = 200;

    static final List<String> ROOT_FIELDS = List.of("mode", "inbound", "outbound", "tests");
    static final List<String> MODE_FIELDS = List.of("inbound", "outbound");
    static final List<String> INBOUND_FIELDS = List.of("allowlist", "ports", "geo");
    static final List<String> OUTBOUND_FIELDS = List.of("destinations", "ports", "defaultAction");
    static final List<String> GEO_FIELDS = List.of("mode", "countries");
    static final List<String> ALLOWLIST_FIELDS =
            List.of("id", "cidr", "ports", "description", "requestedBy", "expiresAt", "createdBy", "createdAt", "updatedAt");
    static final List<String> DESTINATION_FIELDS =
            List.of("id", "cidr", "domain", "ports", "description", "requestedBy", "createdBy", "createdAt", "updatedAt");
    static final List<String> PORT_RULE_FIELDS =
            List.of("id", "proto", "port", "endPort", "description", "requestedBy", "createdBy", "createdAt", "updatedAt");
    static final List<String> PORT_FIELDS = List.of("proto", "port", "endPort");
    static final List<String> TEST_FIELDS = List.of("direction", "from", "to", "port", "proto", "country", "expect");

    private PolicyValidator() {}

    /** {@code now} decides whether an {@code expiresAt} lies in the past. */
    public static Validated<PolicyDocument> validate(Object tree, Instant now) {
        return new Reading(now).document(tree);
    }

    /** One validation run: the problems found so far and the ids seen. */
    private static final class Reading {
        private final TreeReader reader = new TreeReader();
        private final Instant now;
        private final Map<String, String> idPaths = new HashMap<>();
        /** The block of the entry read last, handed to the overlap check so that no CIDR is parsed twice. */
        private AddressSyntax.Cidr lastBlock;

        Reading(Instant now) {
            this.now = now;
        }

        Validated<PolicyDocument> document(Object tree) {
            Map<String, Object> root = reader.object(tree, "", ROOT_FIELDS);
            if (root == null) {
                return new Validated<>(null, reader.problems());
            }
            PolicyDocument defaults = PolicyDocument.defaultPolicy();
            Modes modes = root.get("mode") == null ? defaults.mode() : modes(root.get("mode"));
            Inbound inbound = root.get("inbound") == null ? defaults.inbound() : inbound(root.get("inbound"));
            Outbound outbound = root.get("outbound") == null ? defaults.outbound() : outbound(root.get("outbound"));
            List<PolicyTest> tests = root.get("tests") == null ? List.of() : tests(root.get("tests"));
            if (reader.hasErrors()) {
                return new Validated<>(null, reader.problems());
            }
            return new Validated<>(new PolicyDocument(modes, inbound, outbound, tests), reader.problems());
        }

        private Modes modes(Object value) {
            Map<String, Object> object = reader.object(value, "mode", MODE_FIELDS);
            if (object == null) {
                return null;
            }
            Mode in = object.get("inbound") == null ? Mode.OFF : reader.choice(object.get("inbound"), "mode.inbound", Mode.values(), Mode::wireName);
            Mode out = object.get("outbound") == null ? Mode.OFF : reader.choice(object.get("outbound"), "mode.outbound", Mode.values(), Mode::wireName);
            return new Modes(in, out);
        }

        private Inbound inbound(Object value) {
            Map<String, Object> object = reader.object(value, "inbound", INBOUND_FIELDS);
            if (object == null) {
                return null;
            }
            List<AllowlistEntry> allowlist = new ArrayList<>();
            List<String> allowPaths = new ArrayList<>();
            List<Span> spans = new ArrayList<>();
            if (object.get("allowlist") != null) {
                List<?> items = reader.list(object.get("allowlist"), "inbound.allowlist", MAX_ALLOWLIST_ENTRIES);
                for (int i = 0; items != null && i < items.size(); i++) {
                    String path = TreeReader.index("inbound.allowlist", i);
                    AllowlistEntry entry = allowlistEntry(items.get(i), path);
                    if (entry != null) {
                        allowlist.add(entry);
                        allowPaths.add(path);
                        spans.add(new Span(lastBlock, entry.cidr(), entry.ports(), entry.expiresAt()));
                    }
                }
            }
            warnOverlaps(spans, allowPaths);
            List<PortRule> ports = object.get("ports") == null ? List.of(PortRule.https()) : portRules(object.get("ports"), "inbound.ports");
            Geo geo = object.get("geo") == null ? Geo.NONE : geo(object.get("geo"));
            return new Inbound(allowlist, ports, geo);
        }

        private Outbound outbound(Object value) {
            Map<String, Object> object = reader.object(value, "outbound", OUTBOUND_FIELDS);
            if (object == null) {
                return null;
            }
            List<Destination> destinations = new ArrayList<>();
            List<String> paths = new ArrayList<>();
            List<AddressSyntax.Cidr> blocks = new ArrayList<>();
            if (object.get("destinations") != null) {
                List<?> items = reader.list(object.get("destinations"), "outbound.destinations", MAX_DESTINATIONS);
                for (int i = 0; items != null && i < items.size(); i++) {
                    String path = TreeReader.index("outbound.destinations", i);
                    Destination destination = destination(items.get(i), path);
                    if (destination != null) {
                        destinations.add(destination);
                        paths.add(path);
                        blocks.add(lastBlock);
                    }
                }
            }
            List<Span> spans = new ArrayList<>();
            List<String> spanPaths = new ArrayList<>();
            Map<String, Integer> names = new HashMap<>();
            for (int i = 0; i < destinations.size(); i++) {
                Destination destination = destinations.get(i);
                if (destination.cidr() != null) {
                    spans.add(new Span(blocks.get(i), destination.cidr(), destination.ports(), null));
                    spanPaths.add(paths.get(i));
                } else {
                    Integer earlier = names.putIfAbsent(destination.domain(), i);
                    if (earlier != null && new PortCover(destinations.get(earlier).ports()).coversAll(destination.ports())) {
                        reader.warning(paths.get(i), AddressSyntax.quote(destination.domain()) + " duplicates " + paths.get(earlier));
                    }
                }
            }
            warnOverlaps(spans, spanPaths);
            List<PortRule> ports = object.get("ports") == null ? List.of(PortRule.https()) : portRules(object.get("ports"), "outbound.ports");
            DefaultAction defaultAction = object.get("defaultAction") == null
                    ? DefaultAction.ALLOW
                    : reader.choice(object.get("defaultAction"), "outbound.defaultAction", DefaultAction.values(), DefaultAction::wireName);
            return new Outbound(destinations, ports, defaultAction);
        }

        private AllowlistEntry allowlistEntry(Object value, String path) {
            Map<String, Object> object = reader.object(value, path, ALLOWLIST_FIELDS);
            if (object == null) {
                return null;
            }
            int before = reader.errorCount();
            String id = ruleId(object, path);
            AddressSyntax.Cidr block = reader.present(object, "cidr", path) ? cidr(object.get("cidr"), TreeReader.field(path, "cidr")) : null;
            List<PortSpec> ports = entryPorts(object, path);
            String description = required(object, "description", path, MAX_DESCRIPTION_LENGTH);
            String requestedBy = required(object, "requestedBy", path, MAX_REQUESTED_BY_LENGTH);
            Instant expiresAt = null;
            if (object.get("expiresAt") != null) {
                String expiresPath = TreeReader.field(path, "expiresAt");
                expiresAt = reader.instant(object.get("expiresAt"), expiresPath);
                if (expiresAt != null && !expiresAt.isAfter(now)) {
                    reader.error(expiresPath, AddressSyntax.quote(String.valueOf(object.get("expiresAt"))) + " is not in the future (now is " + now
                            + "); remove the entry or give a later time");
                }
            }
            Provenance provenance = provenance(object, path);
            if (reader.errorCount() > before) {
                return null;
            }
            lastBlock = block;
            return new AllowlistEntry(id, block.canonical(), ports, description, requestedBy, expiresAt, provenance);
        }

        private Destination destination(Object value, String path) {
            Map<String, Object> object = reader.object(value, path, DESTINATION_FIELDS);
            if (object == null) {
                return null;
            }
            int before = reader.errorCount();
            String id = ruleId(object, path);
            AddressSyntax.Cidr cidr = null;
            String domain = null;
            boolean hasCidr = object.get("cidr") != null;
            boolean hasDomain = object.get("domain") != null;
            if (hasCidr == hasDomain) {
                reader.error(path, hasCidr ? "give either \"cidr\" or \"domain\", not both" : "needs \"cidr\" or \"domain\"");
            } else if (hasCidr) {
                cidr = cidr(object.get("cidr"), TreeReader.field(path, "cidr"));
            } else {
                String domainPath = TreeReader.field(path, "domain");
                String text = reader.text(object.get("domain"), domainPath, DomainName.MAX_INPUT);
                if (text != null) {
                    DomainName.Parsed parsed = DomainName.parse(text, true);
                    if (parsed.error() != null) {
                        reader.error(domainPath, parsed.error());
                    }
                    domain = parsed.value();
                }
            }
            List<PortSpec> ports = entryPorts(object, path);
            String description = required(object, "description", path, MAX_DESCRIPTION_LENGTH);
            String requestedBy = required(object, "requestedBy", path, MAX_REQUESTED_BY_LENGTH);
            Provenance provenance = provenance(object, path);
            if (reader.errorCount() > before) {
                return null;
            }
            lastBlock = cidr;
            return new Destination(id, cidr == null ? null : cidr.canonical(), domain, ports, description, requestedBy, provenance);
        }

        private List<PortRule> portRules(Object value, String path) {
            List<?> items = reader.list(value, path, MAX_PORT_RULES);
            if (items == null) {
                return List.of();
            }
            List<PortRule> rules = new ArrayList<>();
            List<String> paths = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                String itemPath = TreeReader.index(path, i);
                Map<String, Object> object = reader.object(items.get(i), itemPath, PORT_RULE_FIELDS);
                if (object == null) {
                    continue;
                }
                int before = reader.errorCount();
                String id = ruleId(object, itemPath);
                PortSpec spec = portSpec(object, itemPath);
                String description = required(object, "description", itemPath, MAX_DESCRIPTION_LENGTH);
                String requestedBy = object.get("requestedBy") == null
                        ? null
                        : reader.text(object.get("requestedBy"), TreeReader.field(itemPath, "requestedBy"), MAX_REQUESTED_BY_LENGTH);
                Provenance provenance = provenance(object, itemPath);
                if (reader.errorCount() == before) {
                    rules.add(new PortRule(id, spec, description, requestedBy, provenance));
                    paths.add(itemPath);
                }
            }
            warnPortOverlaps(rules, paths);
            return rules;
        }

        private List<PortSpec> entryPorts(Map<String, Object> object, String path) {
            if (object.get("ports") == null) {
                return List.of();
            }
            String portsPath = TreeReader.field(path, "ports");
            List<?> items = reader.list(object.get("ports"), portsPath, MAX_ENTRY_PORTS);
            if (items == null) {
                return List.of();
            }
            if (items.isEmpty()) {
                reader.error(portsPath, "an empty list would match no port; omit \"ports\" to cover every port");
                return List.of();
            }
            List<PortSpec> specs = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                String itemPath = TreeReader.index(portsPath, i);
                Map<String, Object> port = reader.object(items.get(i), itemPath, PORT_FIELDS);
                PortSpec spec = port == null ? null : portSpec(port, itemPath);
                if (spec != null) {
                    specs.add(spec);
                }
            }
            return specs;
        }

        /** {@code {proto, port, endPort?}} of a port rule or an entry's port. */
        private PortSpec portSpec(Map<String, Object> object, String path) {
            Protocol proto = reader.present(object, "proto", path)
                    ? reader.choice(object.get("proto"), TreeReader.field(path, "proto"), Protocol.values(), Protocol::wireName)
                    : null;
            if (proto == Protocol.ICMP) {
                reader.error(TreeReader.field(path, "proto"), "icmp has no ports: remove this port (ICMP echo is never subject to port rules)");
                return null;
            }
            Integer port = reader.present(object, "port", path) ? port(object.get("port"), TreeReader.field(path, "port")) : null;
            Integer endPort = object.get("endPort") == null ? null : port(object.get("endPort"), TreeReader.field(path, "endPort"));
            if (port != null && endPort != null && endPort < port) {
                reader.error(TreeReader.field(path, "endPort"), "endPort " + endPort + " is below port " + port + "; a range runs from port up to endPort");
                return null;
            }
            if (proto == null || port == null || (object.get("endPort") != null && endPort == null)) {
                return null;
            }
            return new PortSpec(proto, port, endPort);
        }

        private Integer port(Object value, String path) {
            Integer number = reader.wholeNumber(value, path);
            if (number != null && (number < 1 || number > 65535)) {
                reader.error(path, "port " + number + " is outside 1-65535");
                return null;
            }
            return number;
        }

        /** The prefix block a CIDR field names, or null after recording why it names none. */
        private AddressSyntax.Cidr cidr(Object value, String path) {
            String text = reader.text(value, path, 100);
            if (text == null) {
                return null;
            }
            AddressSyntax.ParsedCidr parsed = AddressSyntax.cidr(text);
            if (!parsed.isValid()) {
                reader.error(path, parsed.error());
                return null;
            }
            return parsed.value();
        }

        private Geo geo(Object value) {
            Map<String, Object> object = reader.object(value, "inbound.geo", GEO_FIELDS);
            if (object == null) {
                return Geo.NONE;
            }
            GeoMode mode = object.get("mode") == null
                    ? GeoMode.NONE
                    : reader.choice(object.get("mode"), "inbound.geo.mode", GeoMode.values(), GeoMode::wireName);
            TreeSet<String> countries = new TreeSet<>();
            if (object.get("countries") != null) {
                List<?> items = reader.list(object.get("countries"), "inbound.geo.countries", MAX_COUNTRIES);
                for (int i = 0; items != null && i < items.size(); i++) {
                    String code = CountryCode.read(reader, items.get(i), TreeReader.index("inbound.geo.countries", i));
                    if (code != null) {
                        countries.add(code);
                    }
                }
            }
            if (mode == GeoMode.NONE && !countries.isEmpty()) {
                reader.warning("inbound.geo.countries", "countries are ignored while geo.mode is none");
            }
            if (mode == GeoMode.ALLOW && countries.isEmpty() && object.get("countries") != null) {
                reader.warning("inbound.geo.countries", "geo.mode allow with no countries blocks every source that is not allowlisted");
            }
            return new Geo(mode, List.copyOf(countries));
        }

        private List<PolicyTest> tests(Object value) {
            List<?> items = reader.list(value, "tests", MAX_TESTS);
            if (items == null) {
                return List.of();
            }
            List<PolicyTest> tests = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                String path = TreeReader.index("tests", i);
                Map<String, Object> object = reader.object(items.get(i), path, TEST_FIELDS);
                if (object == null) {
                    continue;
                }
                Connection connection = ConnectionReader.read(reader, object, path);
                Verdict expect = null;
                if (reader.present(object, "expect", path)) {
                    Verdict[] allowed = {Verdict.ALLOWED, Verdict.BLOCKED};
                    expect = reader.choice(object.get("expect"), TreeReader.field(path, "expect"), allowed, Verdict::wireName);
                }
                if (connection != null && expect != null) {
                    tests.add(new PolicyTest(connection, expect));
                }
            }
            return tests;
        }

        private String ruleId(Map<String, Object> object, String path) {
            if (object.get("id") == null) {
                return null;
            }
            String idPath = TreeReader.field(path, "id");
            String id = reader.id(object.get("id"), idPath);
            if (id != null) {
                String earlier = idPaths.putIfAbsent(id, idPath);
                if (earlier != null) {
                    reader.error(idPath, AddressSyntax.quote(id) + " is already the id of " + earlier.substring(0, earlier.length() - 3)
                            + "; ids must be unique in the policy");
                }
            }
            return id;
        }

        private String required(Map<String, Object> object, String name, String path, int maxLength) {
            if (!reader.present(object, name, path)) {
                return null;
            }
            return reader.text(object.get(name), TreeReader.field(path, name), maxLength);
        }

        private Provenance provenance(Map<String, Object> object, String path) {
            String createdBy = object.get("createdBy") == null
                    ? null
                    : reader.text(object.get("createdBy"), TreeReader.field(path, "createdBy"), MAX_REQUESTED_BY_LENGTH);
            Instant createdAt = object.get("createdAt") == null ? null : reader.instant(object.get("createdAt"), TreeReader.field(path, "createdAt"));
            Instant updatedAt = object.get("updatedAt") == null ? null : reader.instant(object.get("updatedAt"), TreeReader.field(path, "updatedAt"));
            return new Provenance(createdBy, createdAt, updatedAt);
        }

        /**
         * Warns about entries that an earlier one already covers. Prefix blocks nest or are disjoint,
         * so after sorting by (family, first address, prefix length) every block's containers are on a
         * stack of open blocks; only the innermost one is compared, which keeps the sweep linear after
         * the sort even for many identical entries.
         */
        private void warnOverlaps(List<Span> spans, List<String> paths) {
            record Item(int index, boolean ipv4, long firstHigh, long firstLow, long lastHigh, long lastLow, int prefix) {}
            List<Item> items = new ArrayList<>(spans.size());
            for (int i = 0; i < spans.size(); i++) {
                AddressSyntax.Cidr block = spans.get(i).block();
                items.add(new Item(i, block.ipv4(), block.firstHigh(), block.firstLow(), block.lastHigh(), block.lastLow(), block.prefix()));
            }
            items.sort(Comparator.comparing(Item::ipv4)
                    .thenComparing((a, b) -> PrefixIndex.compare(a.firstHigh, a.firstLow, b.firstHigh, b.firstLow))
                    .thenComparingInt(Item::prefix)
                    .thenComparingInt(Item::index));
            List<Item> stack = new ArrayList<>();
            Map<Integer, String> warnings = new HashMap<>();
            for (Item item : items) {
                while (!stack.isEmpty()) {
                    Item top = stack.get(stack.size() - 1);
                    boolean contains = top.ipv4 == item.ipv4
                            && PrefixIndex.compare(top.lastHigh, top.lastLow, item.firstHigh, item.firstLow) >= 0;
                    if (contains) {
                        break;
                    }
                    stack.remove(stack.size() - 1);
                }
                if (!stack.isEmpty()) {
                    Item outer = stack.get(stack.size() - 1);
                    Span outerSpan = spans.get(outer.index);
                    Span innerSpan = spans.get(item.index);
                    boolean portsCovered = new PortCover(outerSpan.ports()).coversAll(innerSpan.ports());
                    boolean lastsLongEnough = outerSpan.expiresAt() == null
                            || (innerSpan.expiresAt() != null && !innerSpan.expiresAt().isAfter(outerSpan.expiresAt()));
                    if (portsCovered && lastsLongEnough) {
                        // Report at the later entry in document order, naming the other one.
                        int later = Math.max(outer.index, item.index);
                        int earlier = Math.min(outer.index, item.index);
                        String verb = outer.prefix == item.prefix ? " duplicates " : (later == item.index ? " is inside " : " contains ");
                        String message = spans.get(later).cidr() + verb + paths.get(earlier) + " (" + spans.get(earlier).cidr() + ")"
                                + (later == item.index ? ", which already allows its ports" : ", which makes that entry redundant");
                        warnings.putIfAbsent(later, message);
                    }
                }
                stack.add(item);
            }
            warnings.keySet().stream().sorted().forEach(i -> reader.warning(paths.get(i), warnings.get(i)));
        }

        /** Warns about port rules whose ranges overlap an earlier-sorted rule of the same protocol. */
        private void warnPortOverlaps(List<PortRule> rules, List<String> paths) {
            Integer[] order = new Integer[rules.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, Comparator.<Integer, Protocol>comparing(i -> rules.get(i).spec().proto())
                    .thenComparingInt(i -> rules.get(i).spec().port())
                    .thenComparingInt(i -> i));
            int reach = -1;
            int reachIndex = -1;
            Protocol proto = null;
            Map<Integer, String> warnings = new HashMap<>();
            for (int i : order) {
                PortSpec spec = rules.get(i).spec();
                if (spec.proto() != proto) {
                    proto = spec.proto();
                    reach = -1;
                }
                if (spec.port() <= reach) {
                    int later = Math.max(i, reachIndex);
                    int earlier = Math.min(i, reachIndex);
                    warnings.putIfAbsent(later, rules.get(later).spec() + " overlaps " + paths.get(earlier) + " (" + rules.get(earlier).spec() + ")");
                }
                if (spec.last() > reach) {
                    reach = spec.last();
                    reachIndex = i;
                }
            }
            warnings.keySet().stream().sorted().forEach(i -> reader.warning(paths.get(i), warnings.get(i)));
        }
    }

    /** What the overlap check needs of an entry. */
    private record Span(AddressSyntax.Cidr block, String cidr, List<PortSpec> ports, Instant expiresAt) {}

    /** Port coverage where an empty list means every port (the entry convention). */
    private record PortCover(List<PortSpec> ports) {
        boolean coversAll(List<PortSpec> other) {
            if (ports.isEmpty()) {
                return true;
            }
            return !other.isEmpty() && PortSet.of(ports).containsAll(PortSet.of(other));
        }
    }
}
