package dev.clawfence.policy.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.clawfence.policy.Connection;
import dev.clawfence.policy.Decision;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Evaluator;
import dev.clawfence.policy.PlatformRules;
import dev.clawfence.policy.Protocol;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.compile.CompiledPolicy;
import dev.clawfence.policy.compile.CountryRanges;
import dev.clawfence.policy.compile.PolicyCompiler;
import dev.clawfence.policy.render.DifferentialCases.Attempt;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The differential test of DESIGN.md and issue 3: on random policies and random connections, the kernel
 * does what the {@link Evaluator} decides, for both backends ({@link NftRenderer}, and
 * {@link IptablesRenderer} with ipset). A connection the evaluator calls {@code blocked} must be refused
 * at once (tcp reset, ICMP port-unreachable for inbound udp; outbound udp fails to send with EPERM); one
 * it calls {@code allowed} or {@code would-block} must connect (tcp) or be echoed (udp).
 *
 * <p>Two network namespaces joined by a veth pair: "host" holds the ruleset and the addresses
 * {@value DifferentialCases#HOST4} and {@value DifferentialCases#HOST6}; "client" holds a pool of about
 * a hundred documentation addresses ({@link DifferentialCases}). Inbound connections go from a client
 * address to the host, outbound ones from the host to a client address; both sides listen on every
 * probed port, tcp and udp. One {@link ProbeSession} process per namespace makes the connections, so a
 * run of 25 policies × {@value #ATTEMPTS} connections per backend starts only two JVMs.
 * Every connection leaves from its own source port, so conntrack never carries an earlier policy's
 * flow into a later one; ICMP rate limits are lifted in both namespaces so that every reject arrives.
 *
 * <p>Covered: both directions, IPv4 and IPv6, tcp and udp; modes off, monitor and enforce; inbound
 * ports (single ports, ranges, everything, none), allowlist entries with and without ports, nested and
 * overlapping, expired, expiring exactly now and live; geo allow and block with the test country table
 * ({@link RandomPolicies#COUNTRIES}, whose ranges overlap the pool: the evaluator gets the country of
 * the source from the same table); outbound ports, CIDR destinations with and without ports, name
 * destinations (which the agent fills in at run time: here they stay empty and must change nothing for
 * addresses), default allow and deny; the platform's management ranges, control-plane endpoints and
 * DNS resolvers ({@link RandomPolicies#PLATFORM}), which some pool addresses hit.
 *
 * <p>Not covered: ICMP echo (a refused echo and a lost one look alike to an unprivileged probe),
 * addresses resolved for name destinations, established/related and loopback (every probe is a new
 * connection on the veth), and protocols other than tcp and udp.
 *
 * <p>Each run prints its seed; {@code -Dkerneldiff.seed=N} replays it, and {@code -Dkerneldiff.policies=N}
 * tries more policies. A mismatch fails the test with the seed, the policy JSON, the connection, the
 * evaluator's decision, what the model of the rendered chains ({@link RulesetModel}) says, and what the
 * kernel did. Skipped with a printed reason without root, ip, nft, sysctl (and, for the iptables
 * backend, iptables, ip6tables and ipset); under CI=true it fails instead.
 */
class KernelDifferentialTest {

    /** 25, or more with {@code -Dkerneldiff.policies=N} for a longer hunt (source ports allow up to 416). */
    static final int POLICIES = Math.max(25, Integer.getInteger("kerneldiff.policies", 25));
    static final int ATTEMPTS = 24;
    static final int MIN_CASES = 500;
    private static final PlatformRules PLATFORM = RandomPolicies.PLATFORM;
    private static final CountryRanges COUNTRIES = RandomPolicies.COUNTRIES;
    /** Source ports: one per attempt from here; {@link ProbeSession} retries from {@code + RETRY_PORT_OFFSET}. */
    private static final int FIRST_SOURCE_PORT = 20_000;
    private static final long SEED = Long.getLong("kerneldiff.seed", new SecureRandom().nextLong());

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"nft", "iptables"})
    void theKernelRefusesExactlyWhatTheEvaluatorBlocks(String backend) throws Exception {
        if (backend.equals("iptables")) {
            Netns.assumeTools("sysctl", "ipset", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore");
        } else {
            Netns.assumeTools("sysctl");
        }
        String replay = "replay: ./mvnw -B -pl policy -am verify -Dtest='KernelDifferentialTest' -Dsurefire.failIfNoSpecifiedTests=false -Dkerneldiff.seed=" + SEED;
        System.out.println("KernelDifferentialTest " + backend + ": seed " + SEED + " (" + replay + ")");
        assertThat(POLICIES * ATTEMPTS).as("source ports per run").isLessThanOrEqualTo(ProbeSession.RETRY_PORT_OFFSET);
        long started = System.nanoTime();
        Path dir = Files.createTempDirectory("cf-kerneldiff");
        List<String> mismatches = new ArrayList<>();
        Map<String, Integer> tally = new TreeMap<>();
        Map<String, Integer> outcomes = new TreeMap<>();
        int cases = 0;
        try (Netns host = Netns.create("cf-kdiff-"); Netns client = Netns.create("cf-kdiff-")) {
            wire(host, client, dir);
            try (ProbeProcess hostProbe = ProbeProcess.start(host, List.of(DifferentialCases.HOST4, DifferentialCases.HOST6), dir);
                    ProbeProcess clientProbe = ProbeProcess.start(client, Stream.concat(DifferentialCases.POOL4.stream(), DifferentialCases.POOL6.stream()).toList(), dir)) {
                int sourcePort = FIRST_SOURCE_PORT;
                for (int index = 0; index < POLICIES; index++) {
                    DifferentialCases.Case testCase = DifferentialCases.of(SEED, index, ATTEMPTS);
                    CompiledPolicy compiled = PolicyCompiler.compile(testCase.policy(), PLATFORM, COUNTRIES, DifferentialCases.NOW);
                    apply(backend, host, compiled, dir, index, testCase);
                    Evaluator evaluator = Evaluator.compile(testCase.policy(), PLATFORM);

                    List<String> inbound = new ArrayList<>();
                    List<String> outbound = new ArrayList<>();
                    List<Integer> ports = new ArrayList<>();
                    for (Attempt attempt : testCase.attempts()) {
                        String hostAddress = attempt.ipv4() ? DifferentialCases.HOST4 : DifferentialCases.HOST6;
                        String proto = attempt.proto().wireName();
                        if (attempt.direction() == Direction.INBOUND) {
                            inbound.add(String.join(" ", proto, attempt.peer(), String.valueOf(sourcePort), hostAddress, String.valueOf(attempt.port())));
                        } else {
                            outbound.add(String.join(" ", proto, hostAddress, String.valueOf(sourcePort), attempt.peer(), String.valueOf(attempt.port())));
                        }
                        ports.add(sourcePort++);
                    }
                    List<String> inResults = clientProbe.run(inbound);
                    List<String> outResults = hostProbe.run(outbound);

                    int in = 0;
                    int out = 0;
                    boolean policyShown = false;
                    for (int i = 0; i < testCase.attempts().size(); i++) {
                        Attempt attempt = testCase.attempts().get(i);
                        String kernel = attempt.direction() == Direction.INBOUND ? inResults.get(in++) : outResults.get(out++);
                        Connection connection = attempt.direction() == Direction.INBOUND
                                ? Connection.of(Direction.INBOUND, attempt.peer(), null, attempt.port(), attempt.proto(), RandomPolicies.countryOf(attempt.peer()))
                                : Connection.outbound(attempt.peer(), attempt.port(), attempt.proto());
                        Decision decision = evaluator.evaluate(connection, DifferentialCases.NOW);
                        String expected = expected(attempt, decision.verdict());
                        cases++;
                        outcomes.merge(kernel, 1, Integer::sum);
                        tally.merge(attempt.direction().wireName() + " " + decision.verdict().wireName() + " " + decision.reason().wireName(), 1, Integer::sum);
                        if (!kernel.equals(expected)) {
                            StringBuilder text = new StringBuilder();
                            text.append(backend).append(", policy ").append(index).append(" of seed ").append(SEED).append(": ")
                                    .append(describe(attempt, ports.get(i))).append('\n')
                                    .append("  evaluator: ").append(decision.verdict().wireName()).append(' ').append(decision.reason().wireName())
                                    .append(" (rule ").append(decision.ruleId()).append("): ").append(decision.explanation()).append('\n')
                                    .append("  expected from the kernel: ").append(expected).append("; the kernel did: ").append(kernel).append('\n')
                                    .append("  model of the rendered chains: ").append(RulesetModel.decide(compiled, connection)).append('\n');
                            if (!policyShown) {
                                text.append("  policy: ").append(testCase.json()).append('\n');
                                policyShown = true;
                            }
                            mismatches.add(text.toString());
                        }
                    }
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.println("KernelDifferentialTest " + backend + ": " + cases + " cases over " + POLICIES + " policies in " + millis + " ms, "
                + mismatches.size() + " mismatches; kernel: " + outcomes + "; evaluator: " + tally);
        if (!mismatches.isEmpty()) {
            fail(mismatches.size() + " of " + cases + " connections disagree between the evaluator and the kernel (" + backend + ", seed " + SEED + "; "
                    + replay + "):\n" + String.join("\n", mismatches.subList(0, Math.min(10, mismatches.size())))
                    + (mismatches.size() > 10 ? "\n... and " + (mismatches.size() - 10) + " more" : ""));
        }
        assertThat(cases).as("cases per run").isGreaterThanOrEqualTo(MIN_CASES);
        assertThat(tally.keySet()).as("a run sees both refused and established connections")
                .anyMatch(key -> key.contains(" blocked "))
                .anyMatch(key -> !key.contains(" blocked "));
    }

    /**
     * What the probe must see: a blocked connection is refused by the reset or ICMP error the reject
     * sends, except outbound udp, whose datagram the rejecting host is itself the sender of, so the send
     * already fails (EPERM); everything else connects.
     */
    private static String expected(Attempt attempt, Verdict verdict) {
        if (verdict != Verdict.BLOCKED) {
            return "OK";
        }
        return attempt.direction() == Direction.OUTBOUND && attempt.proto() == Protocol.UDP ? "DENIED" : "REFUSED";
    }

    private static String describe(Attempt attempt, int sourcePort) {
        boolean inbound = attempt.direction() == Direction.INBOUND;
        String host = attempt.ipv4() ? DifferentialCases.HOST4 : DifferentialCases.HOST6;
        String from = inbound ? attempt.peer() : host;
        String to = inbound ? host : attempt.peer();
        String country = inbound ? " (country " + RandomPolicies.countryOf(attempt.peer()) + ")" : "";
        return attempt.direction().wireName() + " " + attempt.proto().wireName() + " " + from + " port " + sourcePort + " -> " + to + " port " + attempt.port() + country;
    }

    /** Replaces the ruleset in {@code host}: one {@code nft -f}, or ipset + iptables-restore with the chains hooked once. */
    private static void apply(String backend, Netns host, CompiledPolicy compiled, Path dir, int index, DifferentialCases.Case testCase) throws IOException {
        Netns.Result result;
        if (backend.equals("nft")) {
            Path script = Files.writeString(dir.resolve("policy.nft"), NftRenderer.render(compiled));
            result = host.exec(List.of("nft", "-f", script.toString()));
        } else {
            IptablesRuleset rules = IptablesRenderer.render(compiled);
            Path ipset = Files.writeString(dir.resolve("policy.ipset"), rules.ipset());
            Path v4 = Files.writeString(dir.resolve("policy.v4"), rules.iptables());
            Path v6 = Files.writeString(dir.resolve("policy.v6"), rules.ip6tables());
            String hook = index > 0 ? "" : " && iptables -I INPUT 1 -j CLAWFENCE-IN && iptables -I OUTPUT 1 -j CLAWFENCE-OUT"
                    + " && ip6tables -I INPUT 1 -j CLAWFENCE-IN && ip6tables -I OUTPUT 1 -j CLAWFENCE-OUT";
            result = host.exec(List.of("sh", "-c", "ipset -exist restore < " + ipset + " && iptables-restore --noflush < " + v4
                    + " && ip6tables-restore --noflush < " + v6 + hook));
        }
        if (result.exitCode() != 0) {
            fail(backend + " refused policy " + index + " of seed " + SEED + ": " + result.output() + "\npolicy: " + testCase.json());
        }
    }

    /**
     * Host and client joined by a veth pair; each client address is a /32 or /128 of its own, and the
     * host reaches the pool's ranges on-link, so every pool address can talk to the host directly.
     */
    private static void wire(Netns host, Netns client, Path dir) throws IOException {
        for (Netns ns : List.of(host, client)) {
            run(ns, "sysctl", "-q", "-e", "-w", "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_ratemask=0", "net.ipv4.icmp_msgs_per_sec=100000",
                    "net.ipv4.icmp_msgs_burst=100000", "net.ipv6.icmp.ratelimit=0", "net.ipv6.icmp.ratemask=",
                    "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        }
        List<String> hostCommands = new ArrayList<>(List.of(
                "link set lo up",
                "link add cf0 type veth peer name cf1 netns " + client.name(),
                "addr add " + DifferentialCases.HOST4 + "/32 dev cf0",
                "addr add " + DifferentialCases.HOST6 + "/128 dev cf0 nodad",
                "link set cf0 up"));
        for (String range : List.of("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24", "2001:db8::/32")) {
            hostCommands.add("route add " + range + " dev cf0");
        }
        List<String> clientCommands = new ArrayList<>(List.of("link set lo up"));
        for (String address : DifferentialCases.POOL4) {
            clientCommands.add("addr add " + address + "/32 dev cf1");
        }
        for (String address : DifferentialCases.POOL6) {
            clientCommands.add("addr add " + address + "/128 dev cf1 nodad");
        }
        clientCommands.add("link set cf1 up");
        clientCommands.add("route add " + DifferentialCases.HOST4 + "/32 dev cf1");
        clientCommands.add("route add " + DifferentialCases.HOST6 + "/128 dev cf1");
        run(host, "ip", "-batch", Files.write(dir.resolve("host.ip"), hostCommands).toString());
        run(client, "ip", "-batch", Files.write(dir.resolve("client.ip"), clientCommands).toString());
    }

    private static void run(Netns ns, String... command) throws IOException {
        Netns.Result result = ns.exec(List.of(command));
        assertThat(result.exitCode()).as("%s: %s", String.join(" ", command), result.output()).isZero();
    }

    /** A {@link ProbeSession} in a namespace, driven over its stdin and stdout. */
    private static final class ProbeProcess implements AutoCloseable {
        private final Process process;
        private final Writer commands;
        private final BufferedReader results;
        private final Path errors;

        private ProbeProcess(Process process, Path errors) {
            this.process = process;
            this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            this.results = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.errors = errors;
        }

        static ProbeProcess start(Netns ns, List<String> addresses, Path dir) throws IOException {
            String java = ProcessHandle.current().info().command().orElse("java");
            Path errors = dir.resolve(ns.name() + ".err");
            List<String> command = List.of("ip", "netns", "exec", ns.name(), java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx64m",
                    "-cp", Path.of("target", "test-classes").toAbsolutePath().toString(), ProbeSession.class.getName(),
                    String.join(",", addresses), String.join(",", DifferentialCases.PROBE_PORTS.stream().map(String::valueOf).toList()));
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
            builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin");
            ProbeProcess probe = new ProbeProcess(builder.start(), errors);
            String ready = probe.results.readLine();
            if (!ProbeSession.READY.equals(ready)) {
                probe.close();
                fail("probe in " + ns.name() + " did not start: " + ready + " " + Files.readString(errors));
            }
            return probe;
        }

        /** Runs {@code lines} in order and returns one result per line. */
        List<String> run(List<String> lines) throws IOException {
            for (String line : lines) {
                commands.write(line + "\n");
            }
            commands.flush();
            List<String> out = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String line = results.readLine();
                if (line == null) {
                    fail("the probe ended early: " + Files.readString(errors));
                }
                out.add(line);
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            commands.close();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
