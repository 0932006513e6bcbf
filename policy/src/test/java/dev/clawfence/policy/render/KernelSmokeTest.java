package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.AllowlistEntry;
import dev.clawfence.policy.Connection;
import dev.clawfence.policy.DefaultAction;
import dev.clawfence.policy.Destination;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.Geo;
import dev.clawfence.policy.Inbound;
import dev.clawfence.policy.Mode;
import dev.clawfence.policy.Modes;
import dev.clawfence.policy.Outbound;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.PolicyDocument;
import dev.clawfence.policy.PortRule;
import dev.clawfence.policy.PortSpec;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Provenance;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel applies a rendered ruleset as the evaluator decides, on real connections between two
 * network namespaces joined by a veth pair (documentation addresses only): allowed connections connect,
 * blocked ones are refused at once (tcp reset, ICMP port-unreachable), and in monitor mode everything
 * passes. A smoke test of the reject types and the lookups, not the random differential test. Runs for
 * the nft backend and, where ipset and iptables are installed, for the iptables backend.
 */
class KernelSmokeTest {

    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    /** One attempt: protocol, source, destination, port; the direction is whose namespace runs it. */
    private record Attempt(Direction direction, Protocol proto, String from, String to, int port) {}

    private static final List<Attempt> ATTEMPTS = List.of(
            new Attempt(Direction.INBOUND, Protocol.TCP, "203.0.113.2", "203.0.113.1", 443),
            new Attempt(Direction.INBOUND, Protocol.TCP, "203.0.113.2", "203.0.113.1", 22),
            new Attempt(Direction.INBOUND, Protocol.TCP, "203.0.113.2", "203.0.113.1", 8080),
            new Attempt(Direction.INBOUND, Protocol.UDP, "203.0.113.2", "203.0.113.1", 5000),
            new Attempt(Direction.INBOUND, Protocol.TCP, "203.0.113.66", "203.0.113.1", 443),
            new Attempt(Direction.INBOUND, Protocol.UDP, "203.0.113.66", "203.0.113.1", 5000),
            new Attempt(Direction.INBOUND, Protocol.TCP, "2001:db8::2", "2001:db8::1", 443),
            new Attempt(Direction.INBOUND, Protocol.TCP, "2001:db8::2", "2001:db8::1", 22),
            new Attempt(Direction.INBOUND, Protocol.UDP, "2001:db8::2", "2001:db8::1", 5000),
            new Attempt(Direction.OUTBOUND, Protocol.TCP, "203.0.113.1", "203.0.113.2", 443),
            new Attempt(Direction.OUTBOUND, Protocol.TCP, "203.0.113.1", "203.0.113.66", 443),
            new Attempt(Direction.OUTBOUND, Protocol.TCP, "203.0.113.1", "203.0.113.2", 22),
            new Attempt(Direction.OUTBOUND, Protocol.UDP, "203.0.113.1", "203.0.113.2", 5000),
            new Attempt(Direction.OUTBOUND, Protocol.TCP, "2001:db8::1", "2001:db8::2", 22),
            new Attempt(Direction.OUTBOUND, Protocol.TCP, "2001:db8::1", "2001:db8::2", 443));

    static PolicyDocument policy(Mode mode) {
        List<PortRule> in = List.of(rule(PortSpec.tcp(443)), rule(PortSpec.tcp(22)), rule(PortSpec.udp(5000)));
        List<AllowlistEntry> allowlist = List.of(
                new AllowlistEntry("in-a", "203.0.113.2/32", List.of(PortSpec.tcp(22)), "d", "r", null, Provenance.NONE),
                new AllowlistEntry("in-b", "203.0.113.0/26", List.of(), "d", "r", null, Provenance.NONE),
                new AllowlistEntry("in-c", "2001:db8::2/128", List.of(PortSpec.tcp(443), PortSpec.udp(5000)), "d", "r", null, Provenance.NONE));
        List<Destination> destinations = List.of(
                new Destination("out-a", "203.0.113.2/32", null, List.of(), "d", "r", Provenance.NONE),
                new Destination("out-b", "2001:db8::2/128", null, List.of(PortSpec.tcp(22)), "d", "r", Provenance.NONE));
        return new PolicyDocument(new Modes(mode, mode), new Inbound(allowlist, in, Geo.NONE),
                new Outbound(destinations, List.of(rule(PortSpec.tcp(443)), rule(PortSpec.udp(5000))), DefaultAction.DENY), List.of());
    }

    private static PortRule rule(PortSpec spec) {
        return new PortRule("p", spec, "d", null, Provenance.NONE);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"nft", "iptables"})
    void theKernelGivesTheEvaluatorsVerdicts(String backend) throws IOException {
        if (backend.equals("iptables")) {
            Netns.assumeTools("ipset", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore");
        } else {
            Netns.assumeAvailable();
        }
        Path dir = Files.createTempDirectory("cf-nft-smoke");
        List<Process> servers = new ArrayList<>();
        try (Netns host = Netns.create(); Netns peer = Netns.create()) {
            wire(host, peer);
            servers.add(server(host, "tcp:443", "tcp:22", "tcp:8080", "udp:5000"));
            servers.add(server(peer, "tcp:443", "tcp:22", "udp:5000"));
            for (Mode mode : List.of(Mode.ENFORCE, Mode.MONITOR)) {
                PolicyDocument policy = policy(mode);
                var compiled = PolicyCompiler.compile(policy, PlatformRules.NONE, CountryRanges.NONE, NOW);
                if (backend.equals("nft")) {
                    Path script = Files.writeString(dir.resolve(mode.wireName() + ".nft"), NftRenderer.render(compiled));
                    sh(host, "nft -f " + script.toAbsolutePath());
                } else {
                    IptablesRuleset rules = IptablesRenderer.render(compiled);
                    sh(host, "ipset -exist restore < " + Files.writeString(dir.resolve(mode.wireName() + ".ipset"), rules.ipset()).toAbsolutePath());
                    sh(host, "iptables-restore --noflush < " + Files.writeString(dir.resolve(mode.wireName() + ".v4"), rules.iptables()).toAbsolutePath());
                    sh(host, "ip6tables-restore --noflush < " + Files.writeString(dir.resolve(mode.wireName() + ".v6"), rules.ip6tables()).toAbsolutePath());
                    if (mode == Mode.ENFORCE) {
                        // The agent hooks its chains once.
                        for (String tool : List.of("iptables", "ip6tables")) {
                            sh(host, tool + " -I INPUT 1 -j CLAWFENCE-IN && " + tool + " -I OUTPUT 1 -j CLAWFENCE-OUT");
                        }
                    }
                }
                Evaluator evaluator = Evaluator.compile(policy, PlatformRules.NONE);
                List<String> expected = new ArrayList<>();
                List<String> actual = new ArrayList<>();
                for (Direction direction : Direction.values()) {
                    List<Attempt> mine = ATTEMPTS.stream().filter(a -> a.direction() == direction).toList();
                    List<String> results = client(direction == Direction.INBOUND ? peer : host, mine);
                    for (int i = 0; i < mine.size(); i++) {
                        Attempt a = mine.get(i);
                        Connection connection = direction == Direction.INBOUND
                                ? Connection.inbound(a.from(), a.port(), a.proto())
                                : Connection.outbound(a.to(), a.port(), a.proto());
                        Verdict verdict = evaluator.evaluate(connection, NOW).verdict();
                        String label = backend + " " + mode.wireName() + " " + a.proto().wireName() + " " + a.from() + " -> " + a.to() + ":" + a.port() + " ";
                        expected.add(label + (verdict == Verdict.BLOCKED ? "REFUSED" : "OK"));
                        actual.add(label + (i < results.size() ? results.get(i) : "missing"));
                    }
                }
                System.out.println(String.join("\n", actual));
                assertThat(actual).containsExactlyElementsOf(expected);
                if (mode == Mode.ENFORCE) {
                    assertThat(expected).anyMatch(line -> line.endsWith("REFUSED")).anyMatch(line -> line.endsWith("OK"));
                }
            }
        } finally {
            for (Process server : servers) {
                server.destroyForcibly();
            }
            try (var files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
    }

    private static void wire(Netns host, Netns peer) throws IOException {
        run(host, "ip", "link", "set", "lo", "up");
        run(peer, "ip", "link", "set", "lo", "up");
        run(host, "ip", "link", "add", "cf0", "type", "veth", "peer", "name", "cf1", "netns", peer.name());
        run(host, "ip", "addr", "add", "203.0.113.1/24", "dev", "cf0");
        run(host, "ip", "addr", "add", "2001:db8::1/64", "dev", "cf0", "nodad");
        run(peer, "ip", "addr", "add", "203.0.113.2/24", "dev", "cf1");
        run(peer, "ip", "addr", "add", "203.0.113.66/24", "dev", "cf1");
        run(peer, "ip", "addr", "add", "2001:db8::2/64", "dev", "cf1", "nodad");
        run(host, "ip", "link", "set", "cf0", "up");
        run(peer, "ip", "link", "set", "cf1", "up");
    }

    private static void sh(Netns ns, String command) throws IOException {
        Netns.Result result = ns.exec(List.of("sh", "-c", command));
        assertThat(result.exitCode()).as("%s: %s", command, result.output()).isZero();
    }

    private static void run(Netns ns, String... command) throws IOException {
        Netns.Result result = ns.exec(List.of(command));
        assertThat(result.exitCode()).as("%s: %s", String.join(" ", command), result.output()).isZero();
    }

    private static List<String> java() {
        String java = ProcessHandle.current().info().command().orElse("java");
        return List.of(java, "-cp", Path.of("target", "test-classes").toAbsolutePath().toString(), Probe.class.getName());
    }

    private static Process server(Netns ns, String... listeners) throws IOException {
        List<String> command = new ArrayList<>(java());
        command.add("server");
        command.addAll(List.of(listeners));
        Process process = ns.start(command);
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("probe server in %s", ns.name()).isEqualTo("READY");
        return process;
    }

    private static List<String> client(Netns ns, List<Attempt> attempts) throws IOException {
        List<String> command = new ArrayList<>(java());
        command.add("client");
        for (Attempt a : attempts) {
            command.addAll(List.of(a.proto().wireName(), a.from(), a.to(), String.valueOf(a.port())));
        }
        return ns.exec(command).output().lines().toList();
    }
}
