package dev.clawfence.policy.render;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs commands inside a network namespace that this class creates ({@code cf-nft-<random>}, or the
 * test's own prefix) and always deletes, so that tests never see or touch the host's own ruleset. Needs
 * root, {@code ip} and {@code nft}: where they are missing a test is skipped with the reason printed,
 * except under {@code CI=true}, where it fails (CI has both).
 */
public final class Netns implements AutoCloseable {

    /** The output and exit code of one command. */
    public record Result(int exitCode, String output) {}

    private final String name;

    private Netns(String name) {
        this.name = name;
    }

    /** Skips (or, under CI=true, fails) the calling test unless namespaces and nft can be used here. */
    public static void assumeAvailable() {
        skipOrFail(missing());
    }

    /**
     * Skips (or, under CI=true, fails) the calling test unless namespaces, nft and every one of
     * {@code tools} can be used here; .ci/run installs them all.
     */
    public static void assumeTools(String... tools) {
        String missing = missing();
        for (int i = 0; missing == null && i < tools.length; i++) {
            if (!onPath(tools[i])) {
                missing = tools[i] + " is not installed (not on PATH or in /usr/sbin, /sbin)";
            }
        }
        skipOrFail(missing);
    }

    private static void skipOrFail(String missing) {
        if (missing == null) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI=true but the namespace check cannot run: " + missing);
        }
        System.out.println("SKIPPED namespace check: " + missing);
        Assumptions.abort(missing);
    }

    private static String missing() {
        try {
            Result uid = run(List.of("id", "-u"));
            if (uid.exitCode() != 0 || !uid.output().strip().equals("0")) {
                return "not running as root (uid " + uid.output().strip() + ")";
            }
        } catch (IOException e) {
            return "cannot run id: " + e.getMessage();
        }
        for (String tool : List.of("ip", "nft")) {
            if (!onPath(tool)) {
                return tool + " is not installed (not on PATH or in /usr/sbin, /sbin)";
            }
        }
        return null;
    }

    public static boolean onPath(String tool) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        return dirs.stream().filter(dir -> !dir.isEmpty()).anyMatch(dir -> Files.isExecutable(Path.of(dir, tool)));
    }

    /** Creates a fresh namespace; close it to delete it. */
    public static Netns create() throws IOException {
        return create("cf-nft-");
    }

    /**
     * Creates a fresh namespace named {@code prefix} + 8 random hex digits, so that a test's leftovers
     * can be told from those of other tests; close it to delete it.
     */
    public static Netns create(String prefix) throws IOException {
        String name = prefix + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
        Result added = run(List.of("ip", "netns", "add", name));
        if (added.exitCode() != 0) {
            throw new IOException("ip netns add " + name + " failed: " + added.output());
        }
        return new Netns(name);
    }

    public String name() {
        return name;
    }

    /** Runs {@code command} inside the namespace. */
    public Result exec(List<String> command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return run(full);
    }

    /** Starts a long-running {@code command} inside the namespace; the caller ends it. */
    public Process start(List<String> command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return new ProcessBuilder(full).redirectErrorStream(true).start();
    }

    /** {@code nft -c -f file} inside the namespace: checks a script in the kernel without applying it. */
    public Result check(Path script) throws IOException {
        return exec(List.of("nft", "-c", "-f", script.toAbsolutePath().toString()));
    }

    @Override
    public void close() throws IOException {
        Result deleted = run(List.of("ip", "netns", "del", name));
        if (deleted.exitCode() != 0) {
            throw new IOException("ip netns del " + name + " failed: " + deleted.output());
        }
    }

    public static Result run(List<String> command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin");
        Process process = builder.start();
        try {
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out: " + command);
            }
            return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted: " + command, e);
        }
    }
}
