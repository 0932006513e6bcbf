package dev.clawfence.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.render.Netns;
import dev.clawfence.policy.render.Probe;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two namespaces joined by a veth pair, as in the policy module's KernelSmokeTest: {@code host}
 * (203.0.113.1) runs the enforcer and a probe server on tcp 443, 22 and 8080; {@code peer} has
 * 203.0.113.2 and 203.0.113.66 and runs the probe client. Documentation addresses only; closing deletes both.
 */
public final class Namespaces implements AutoCloseable {

    public final Netns host;
    public final Netns peer;
    private final List<Process> servers = new ArrayList<>();

    private Namespaces(Netns host, Netns peer) {
        this.host = host;
        this.peer = peer;
    }

    public static Namespaces create() throws IOException {
        return create("cf-nft-");
    }

    /** Like {@link #create()}, the namespaces named {@code prefix} + random hex so a test's leftovers can be told apart. */
    public static Namespaces create(String prefix) throws IOException {
        Netns host = Netns.create(prefix);
        Netns peer;
        try {
            peer = Netns.create(prefix);
        } catch (IOException e) {
            host.close();
            throw e;
        }
        Namespaces pair = new Namespaces(host, peer);
        try {
            run(host, "ip", "link", "set", "lo", "up");
            run(peer, "ip", "link", "set", "lo", "up");
            run(host, "ip", "link", "add", "cf0", "type", "veth", "peer", "name", "cf1", "netns", peer.name());
            run(host, "ip", "addr", "add", "203.0.113.1/24", "dev", "cf0");
            run(peer, "ip", "addr", "add", "203.0.113.2/24", "dev", "cf1");
            run(peer, "ip", "addr", "add", "203.0.113.66/24", "dev", "cf1");
            run(host, "ip", "link", "set", "cf0", "up");
            run(peer, "ip", "link", "set", "cf1", "up");
            pair.servers.add(server(host, "tcp:443", "tcp:22", "tcp:8080"));
        } catch (IOException | RuntimeException | Error e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    /** Connects from {@code from} (a peer address) to 203.0.113.1 on each tcp port: OK, REFUSED or TIMEOUT per port. */
    public List<String> connect(String from, int... ports) throws IOException {
        List<String> command = new ArrayList<>(java());
        command.add("client");
        for (int port : ports) {
            command.addAll(List.of("tcp", from, "203.0.113.1", String.valueOf(port)));
        }
        return peer.exec(command).output().lines().toList();
    }

    public static void run(Netns ns, String... command) throws IOException {
        Netns.Result result = ns.exec(List.of(command));
        assertThat(result.exitCode()).as("%s: %s", String.join(" ", command), result.output()).isZero();
    }

    private static List<String> java() {
        String java = ProcessHandle.current().info().command().orElse("java");
        try {
            // Probe lives in the policy module's test-jar (or its test-classes within the reactor).
            String classpath = Path.of(Probe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            return List.of(java, "-cp", classpath, Probe.class.getName());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Process server(Netns ns, String... listeners) throws IOException {
        List<String> command = new ArrayList<>(java());
        command.add("server");
        command.addAll(List.of(listeners));
        Process process = ns.start(command);
        String line = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(line).as("probe server in %s", ns.name()).isEqualTo("READY");
        return process;
    }

    @Override
    public void close() throws IOException {
        servers.forEach(Process::destroyForcibly);
        try {
            peer.close();
        } finally {
            host.close();
        }
    }
}
