package dev.clawfence.agent.nflog;

import dev.clawfence.agent.linux.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs a task inside another network namespace, for sockets that must live there (an NFLOG socket of a
 * namespaced host, a test's traffic). setns(2) moves only the calling thread, so the task runs on a fresh
 * platform thread that enters the namespace and then ends: no thread of the JVM is ever left in the wrong
 * namespace, and sockets the task creates stay in the namespace after it returns.
 */
public final class NetworkNamespace {

    private NetworkNamespace() {}

    /** {@code /var/run/netns/<name>}, the file {@code ip netns add} creates. */
    public static Path named(String name) {
        return Path.of("/var/run/netns", name);
    }

    public static <T> T call(Path namespace, Callable<T> task) throws IOException {
        FutureTask<T> future = new FutureTask<>(() -> {
            enter(namespace);
            return task.call();
        });
        Thread thread = Thread.ofPlatform().name("netns-" + namespace.getFileName()).start(future);
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.interrupt();
            throw new IOException("interrupted while running in network namespace " + namespace, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IOException("in network namespace " + namespace + ": " + e.getCause(), e.getCause());
        }
    }

    private static void enter(Path namespace) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.captureState(arena);
            int fd = (int) Libc.Namespaces.OPEN.invokeExact(state, arena.allocateFrom(namespace.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) {
                throw Libc.failure("open(" + namespace + ")", Libc.errno(state));
            }
            int entered = (int) Libc.Namespaces.SETNS.invokeExact(state, fd, Libc.CLONE_NEWNET);
            int errno = Libc.errno(state);
            int closed = (int) Libc.CLOSE.invokeExact(state, fd);
            if (entered != 0) {
                throw Libc.failure("setns(" + namespace + ", CLONE_NEWNET)", errno);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable e) {
            throw Libc.rethrow(e);
        }
    }
}
