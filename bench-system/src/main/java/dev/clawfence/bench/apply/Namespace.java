package dev.clawfence.bench.apply;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace {@code ab-<random>} that this harness creates and always deletes (also from a
 * shutdown hook, so an interrupted run leaves nothing behind). Needs root and {@code ip}.
 */
final class Namespace implements AutoCloseable {

    private final String name;
    private final Thread hook;
    private boolean closed;

    private Namespace(String name) {
        this.name = name;
        this.hook = new Thread(this::deleteQuietly, "delete " + name);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** A fresh namespace with its loopback up. */
    static Namespace create(String label) throws IOException {
        String name = "ab-" + label + "-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        check(run(List.of("ip", "netns", "add", name)), "ip netns add " + name);
        Namespace ns = new Namespace(name);
        check(ns.exec(List.of("ip", "link", "set", "lo", "up")), "lo up in " + name);
        return ns;
    }

    String name() {
        return name;
    }

    /** {@code command} prefixed with {@code ip netns exec NAME}. */
    List<String> wrap(List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return full;
    }

    Result exec(List<String> command) throws IOException {
        return run(wrap(command));
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            deleteQuietly();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs and finds nothing to do
            }
        }
    }

    private synchronized void deleteQuietly() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Result result = run(List.of("ip", "netns", "del", name));
            if (result.exitCode() != 0) {
                System.err.println("ip netns del " + name + " failed: " + result.output());
            }
        } catch (IOException e) {
            System.err.println("ip netns del " + name + " failed: " + e.getMessage());
        }
    }

    /** The exit code and merged output of one command. */
    record Result(int exitCode, String output) {}

    static Result run(List<String> command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
        Process process = builder.start();
        try {
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
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

    static Result check(Result result, String what) throws IOException {
        if (result.exitCode() != 0) {
            throw new IOException(what + " failed (exit " + result.exitCode() + "): " + result.output().strip());
        }
        return result;
    }
}
