package dev.clawfence.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tiny builders for JSON-shaped policy trees, as a web client would send them. */
final class PolicyTree {

    private final Map<String, Object> root = new LinkedHashMap<>();

    private PolicyTree() {}

    static PolicyTree policy() {
        return new PolicyTree();
    }

    PolicyTree inboundMode(String mode) {
        section("mode").put("inbound", mode);
        return this;
    }

    PolicyTree outboundMode(String mode) {
        section("mode").put("outbound", mode);
        return this;
    }

    @SafeVarargs
    final PolicyTree allowlist(Map<String, Object>... entries) {
        section("inbound").put("allowlist", new ArrayList<>(Arrays.asList(entries)));
        return this;
    }

    @SafeVarargs
    final PolicyTree inboundPorts(Map<String, Object>... ports) {
        section("inbound").put("ports", rules(ports));
        return this;
    }

    @SafeVarargs
    final PolicyTree outboundPorts(Map<String, Object>... ports) {
        section("outbound").put("ports", rules(ports));
        return this;
    }

    PolicyTree geo(String mode, String... countries) {
        section("inbound").put("geo", new LinkedHashMap<>(Map.of("mode", mode, "countries", List.of(countries))));
        return this;
    }

    @SafeVarargs
    final PolicyTree destinations(Map<String, Object>... entries) {
        section("outbound").put("destinations", new ArrayList<>(Arrays.asList(entries)));
        return this;
    }

    PolicyTree defaultAction(String action) {
        section("outbound").put("defaultAction", action);
        return this;
    }

    @SafeVarargs
    final PolicyTree tests(Map<String, Object>... tests) {
        root.put("tests", new ArrayList<>(Arrays.asList(tests)));
        return this;
    }

    /** Puts a raw value at a top-level field, for trees no builder method would make. */
    PolicyTree tree(String field, Object value) {
        root.put(field, value);
        return this;
    }

    Map<String, Object> tree() {
        return root;
    }

    PolicyDocument document() {
        Validated<PolicyDocument> validated = PolicyValidator.validate(root, Fixtures.NOW);
        if (!validated.isValid()) {
            throw new AssertionError("fixture policy is invalid: " + validated.problems());
        }
        return validated.value();
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> section(String name) {
        return (Map<String, Object>) root.computeIfAbsent(name, k -> new LinkedHashMap<String, Object>());
    }

    private static List<Object> rules(Map<String, Object>[] ports) {
        List<Object> rules = new ArrayList<>();
        for (Map<String, Object> port : ports) {
            Map<String, Object> rule = new LinkedHashMap<>(port);
            rule.putIfAbsent("description", "port " + port.get("port"));
            rules.add(rule);
        }
        return rules;
    }

    // ---- entries

    @SafeVarargs
    static Map<String, Object> allow(String cidr, Map<String, Object>... ports) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("cidr", cidr);
        if (ports.length > 0) {
            entry.put("ports", new ArrayList<>(Arrays.asList(ports)));
        }
        entry.put("description", "Office " + cidr);
        entry.put("requestedBy", "alice@example.com");
        return entry;
    }

    @SafeVarargs
    static Map<String, Object> to(String cidrOrDomain, Map<String, Object>... ports) {
        Map<String, Object> entry = new LinkedHashMap<>();
        boolean address = cidrOrDomain.contains(":") || cidrOrDomain.matches("[0-9./]+");
        entry.put(address ? "cidr" : "domain", cidrOrDomain);
        if (ports.length > 0) {
            entry.put("ports", new ArrayList<>(Arrays.asList(ports)));
        }
        entry.put("description", "Service " + cidrOrDomain);
        entry.put("requestedBy", "bob@example.com");
        return entry;
    }

    static Map<String, Object> with(Map<String, Object> item, String field, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(item);
        copy.put(field, value);
        return copy;
    }

    static Map<String, Object> without(Map<String, Object> item, String field) {
        Map<String, Object> copy = new LinkedHashMap<>(item);
        copy.remove(field);
        return copy;
    }

    static Map<String, Object> tcp(int port) {
        return port("tcp", port);
    }

    static Map<String, Object> udp(int port) {
        return port("udp", port);
    }

    static Map<String, Object> tcp(int port, int endPort) {
        Map<String, Object> spec = port("tcp", port);
        spec.put("endPort", endPort);
        return spec;
    }

    static Map<String, Object> port(String proto, int port) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("proto", proto);
        spec.put("port", port);
        return spec;
    }

    static Map<String, Object> test(String direction, String from, String to, Integer port, String proto, String expect) {
        Map<String, Object> test = new LinkedHashMap<>();
        test.put("direction", direction);
        if (from != null) {
            test.put("from", from);
        }
        if (to != null) {
            test.put("to", to);
        }
        if (port != null) {
            test.put("port", port);
        }
        test.put("proto", proto);
        test.put("expect", expect);
        return test;
    }
}
