package dev.clawfence.agent.enforce;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one external command with optional standard input and returns its exit code and output; every
 * firewall command of the agent goes through here. {@link #local()} runs on the host;
 * {@link #inNamespace(String)} prefixes {@code ip netns exec NAME}, which lets tests drive the real
 * enforcers inside a network namespace they own.
 */
@FunctionalInterface
public interface CommandRunner {

    /** The exit code, standard output and standard error of one command. */
    record Result(int exitCode, String stdout, String stderr) {

        public boolean ok() {
            return exitCode == 0;
        }

        /** Standard error, or standard output when that is empty: what to show when a command failed. */
        public String reason() {
            String text = stderr.isBlank() ? stdout : stderr;
            return text.strip().lines().limit(20).reduce((a, b) -> a + "; " + b).orElse("exit code " + exitCode);
        }
    }

    /** Runs {@code command}, feeding it {@code stdin} (null for none). */
    Result run(List<String> command, String stdin) throws IOException;

    default Result run(List<String> command) throws IOException {
        return run(command, null);
    }

    /** Runs commands on this host; sbin directories are added to PATH. */
    static CommandRunner local() {
        return CommandRunner::execute;
    }

    /** Runs commands inside network namespace {@code name} with {@code ip netns exec}. */
    static CommandRunner inNamespace(String name) {
        return new CommandRunner() {
            @Override
            public Result run(List<String> command, String stdin) throws IOException {
                List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
                full.addAll(command);
                return execute(full, stdin);
            }

            @Override
            public java.util.Optional<String> namespace() {
                return java.util.Optional.of(name);
            }
        };
    }

    /**
     * The named network namespace the commands run in ({@link #inNamespace}), for code that talks to the
     * kernel directly (netlink) and must do so in the same namespace; empty: the JVM's own.
     */
    default java.util.Optional<String> namespace() {
        return java.util.Optional.empty();
    }

    private static Result execute(List<String> command, String stdin) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
        builder.environment().put("LC_ALL", "C");
        if (stdin == null) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process process = builder.start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
        try {
            if (stdin != null) {
                try (OutputStream in = process.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // The command exited before reading everything; its exit code and stderr say why.
                }
            }
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out after 120 s: " + String.join(" ", command));
            }
            return new Result(process.exitValue(), new String(out.join(), StandardCharsets.UTF_8), new String(err.join(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }

    private static byte[] readAll(java.io.InputStream stream) {
        try (stream) {
            return stream.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
