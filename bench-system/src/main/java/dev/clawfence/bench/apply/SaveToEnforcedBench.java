package dev.clawfence.bench.apply;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Save-to-enforced latency on one agent: creates namespace {@code ab-s2e-*} and runs
 * {@link SaveToEnforcedRun} inside it, where the control-plane jar, the agent jar (nftables backend) and
 * the measuring client all talk over that namespace's loopback; the agent's table is that namespace's,
 * so the host's firewall is never touched. Everything started is stopped and the namespace deleted,
 * also when the run fails or is interrupted.
 */
@Command(name = "save-to-enforced", mixinStandardHelpOptions = true,
        description = "REST save -> rule in the kernel, with the real control-plane and agent jars in a namespace.")
final class SaveToEnforcedBench implements Callable<Integer> {

    @Option(names = "--saves", defaultValue = "120", description = "measured saves (default ${DEFAULT-VALUE})")
    int saves;

    @Option(names = "--warmup", defaultValue = "10", description = "saves before measuring (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--entries", defaultValue = "10", description = "allowlist entries besides the changing one (default ${DEFAULT-VALUE})")
    int entries;

    @Option(names = "--nft-references", defaultValue = "30", description = "bare nft -f loads of the final ruleset (default ${DEFAULT-VALUE})")
    int nftReferences;

    @Option(names = "--repository", defaultValue = ".", description = "the repository root, holding the built jars (default: the working directory)")
    Path repository;

    @Override
    public Integer call() throws Exception {
        Path root = repository.toAbsolutePath().normalize();
        Path controlPlane = root.resolve("control-plane/target/clawfence-control-plane-0.1.0-SNAPSHOT.jar");
        Path agent = root.resolve("edge-agent/target/clawfence-edge-agent-0.1.0-SNAPSHOT.jar");
        for (Path jar : List.of(controlPlane, agent)) {
            if (!jar.toFile().isFile()) {
                System.err.println("--repository: " + jar + " is missing; build it with ./mvnw -B -q -pl bench-system -am package -DskipTests");
                return 2;
            }
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        String self = Path.of(SaveToEnforcedBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        try (Namespace ns = Namespace.create("s2e")) {
            List<String> inner = new ArrayList<>(List.of(java, "--sun-misc-unsafe-memory-access=allow", "-cp", self,
                    SaveToEnforcedRun.class.getName(), controlPlane.toString(), agent.toString(),
                    String.valueOf(saves), String.valueOf(warmup), String.valueOf(entries), String.valueOf(nftReferences)));
            ProcessBuilder builder = new ProcessBuilder(ns.wrap(inner)).inheritIO();
            builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
            Process process = builder.start();
            Thread stopper = new Thread(() -> stop(process), "stop save-to-enforced");
            Runtime.getRuntime().addShutdownHook(stopper);
            try {
                return process.waitFor();
            } finally {
                stop(process);
                Runtime.getRuntime().removeShutdownHook(stopper);
            }
        }
    }

    /** Ends the inner run and whatever it started (control plane, PostgreSQL, agent). */
    private static void stop(Process process) {
        List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
        all.addFirst(process.toHandle());
        all.forEach(ProcessHandle::destroy);
        for (ProcessHandle handle : all) {
            try {
                handle.onExit().get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                handle.destroyForcibly();
            }
        }
    }
}
