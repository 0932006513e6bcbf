package dev.clawfence.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a policy document into a JSON-shaped tree with the stable field names of DESIGN.md, in a
 * fixed field order; {@link PolicyValidator#validate} of the result gives back an equal document.
 *
 * <p>Shape: every section is always written ({@code mode}, {@code inbound.allowlist|ports|geo},
 * {@code outbound.destinations|ports|defaultAction}, {@code tests}), so that an empty port list stays
 * "every port closed" rather than turning into the default. Within rules, absent optional values are
 * omitted: {@code id} before the first save, {@code ports} of an entry that covers every port,
 * {@code endPort}, {@code expiresAt}, {@code requestedBy} of a port rule, {@code createdBy},
 * {@code createdAt}, {@code updatedAt}, a test's {@code from}, {@code to}, {@code country} and (icmp)
 * {@code port}. Times are ISO-8601 UTC strings ({@link java.time.Instant#toString()}); ports are
 * {@link Integer}s; enums are their wire names. The maps and lists are fresh and mutable.
 */
public final class PolicyDocumentWriter {

    private PolicyDocumentWriter() {}

    public static Map<String, Object> toTree(PolicyDocument document) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> mode = new LinkedHashMap<>();
        mode.put("inbound", document.mode().inbound().wireName());
        mode.put("outbound", document.mode().outbound().wireName());
        root.put("mode", mode);

        Map<String, Object> inbound = new LinkedHashMap<>();
        List<Object> allowlist = new ArrayList<>();
        for (AllowlistEntry entry : document.inbound().allowlist()) {
            Map<String, Object> item = new LinkedHashMap<>();
            putIfPresent(item, "id", entry.id());
            item.put("cidr", entry.cidr());
            putPorts(item, entry.ports());
            item.put("description", entry.description());
            item.put("requestedBy", entry.requestedBy());
            putIfPresent(item, "expiresAt", entry.expiresAt() == null ? null : entry.expiresAt().toString());
            putProvenance(item, entry.provenance());
            allowlist.add(item);
        }
        inbound.put("allowlist", allowlist);
        inbound.put("ports", portRules(document.inbound().ports()));
        Map<String, Object> geo = new LinkedHashMap<>();
        geo.put("mode", document.inbound().geo().mode().wireName());
        geo.put("countries", new ArrayList<Object>(document.inbound().geo().countries()));
        inbound.put("geo", geo);
        root.put("inbound", inbound);

        Map<String, Object> outbound = new LinkedHashMap<>();
        List<Object> destinations = new ArrayList<>();
        for (Destination destination : document.outbound().destinations()) {
            Map<String, Object> item = new LinkedHashMap<>();
            putIfPresent(item, "id", destination.id());
            putIfPresent(item, "cidr", destination.cidr());
            putIfPresent(item, "domain", destination.domain());
            putPorts(item, destination.ports());
            item.put("description", destination.description());
            item.put("requestedBy", destination.requestedBy());
            putProvenance(item, destination.provenance());
            destinations.add(item);
        }
        outbound.put("destinations", destinations);
        outbound.put("ports", portRules(document.outbound().ports()));
        outbound.put("defaultAction", document.outbound().defaultAction().wireName());
        root.put("outbound", outbound);

        List<Object> tests = new ArrayList<>();
        for (PolicyTest test : document.tests()) {
            Map<String, Object> item = connection(test.connection());
            item.put("expect", test.expect().wireName());
            tests.add(item);
        }
        root.put("tests", tests);
        return root;
    }

    /** The tree {@link ConnectionReader#read} reads back to an equal connection. */
    public static Map<String, Object> connection(Connection connection) {
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("direction", connection.direction().wireName());
        putIfPresent(item, "from", connection.from() == null ? null : connection.from().toString());
        putIfPresent(item, "to", connection.to() == null ? null : connection.to().toString());
        if (connection.proto().hasPorts()) {
            item.put("port", connection.port());
        }
        item.put("proto", connection.proto().wireName());
        putIfPresent(item, "country", connection.country());
        return item;
    }

    private static List<Object> portRules(List<PortRule> rules) {
        List<Object> list = new ArrayList<>();
        for (PortRule rule : rules) {
            Map<String, Object> item = new LinkedHashMap<>();
            putIfPresent(item, "id", rule.id());
            putSpec(item, rule.spec());
            item.put("description", rule.description());
            putIfPresent(item, "requestedBy", rule.requestedBy());
            putProvenance(item, rule.provenance());
            list.add(item);
        }
        return list;
    }

    private static void putPorts(Map<String, Object> item, List<PortSpec> ports) {
        if (ports.isEmpty()) {
            return;
        }
        List<Object> list = new ArrayList<>();
        for (PortSpec spec : ports) {
            Map<String, Object> port = new LinkedHashMap<>();
            putSpec(port, spec);
            list.add(port);
        }
        item.put("ports", list);
    }

    private static void putSpec(Map<String, Object> item, PortSpec spec) {
        item.put("proto", spec.proto().wireName());
        item.put("port", spec.port());
        putIfPresent(item, "endPort", spec.endPort());
    }

    private static void putProvenance(Map<String, Object> item, Provenance provenance) {
        putIfPresent(item, "createdBy", provenance.createdBy());
        putIfPresent(item, "createdAt", provenance.createdAt() == null ? null : provenance.createdAt().toString());
        putIfPresent(item, "updatedAt", provenance.updatedAt() == null ? null : provenance.updatedAt().toString());
    }

    private static void putIfPresent(Map<String, Object> item, String name, Object value) {
        if (value != null) {
            item.put(name, value);
        }
    }
}
