package dev.clawfence.agent.systemd;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/**
 * What systemd does with {@code NOTIFY_SOCKET}, for tests: a real {@code AF_UNIX} datagram socket bound
 * to a file path or an abstract name ({@code @cf-lifecycle-<random>}, so parallel test runs never
 * share one), that receives the agent's notifications. Made with the FFM API because the JDK cannot
 * bind {@code AF_UNIX} datagram sockets either.
 */
public final class NotifySocket implements AutoCloseable {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = handle("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = handle("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final int fd;
    private final String name;
    private final Path file;

    private NotifySocket(int fd, String name, Path file) {
        this.fd = fd;
        this.name = name;
        this.file = file;
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor);
    }

    /** A socket in the abstract namespace: {@code @cf-lifecycle-<random>}. */
    public static NotifySocket bindAbstract() throws IOException {
        return bind("@cf-lifecycle-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(6)), null);
    }

    /** A socket at {@code file}, which must not exist yet; closing deletes it. */
    public static NotifySocket bindPath(Path file) throws IOException {
        return bind(file.toString(), file);
    }

    private static NotifySocket bind(String name, Path file) throws IOException {
        byte[] address = SystemdNotifier.address(name);
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) SOCKET.invokeExact(1, 2, 0);
            if (fd < 0) {
                throw new IOException("socket(AF_UNIX, SOCK_DGRAM) failed");
            }
            MemorySegment sockaddr = arena.allocate(2 + SystemdNotifier.SUN_PATH, 2);
            sockaddr.set(JAVA_SHORT, 0, (short) 1);
            MemorySegment.copy(address, 0, sockaddr, JAVA_BYTE, 2, address.length);
            if ((int) BIND.invokeExact(fd, sockaddr, 2 + address.length) != 0) {
                int ignored = (int) CLOSE.invokeExact(fd);
                throw new IOException("bind " + name + " failed");
            }
            return new NotifySocket(fd, name, file);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(e);
        }
    }

    /** The value for {@code NOTIFY_SOCKET}. */
    public String name() {
        return name;
    }

    /** The next datagram, or null when none arrives within {@code timeout}. */
    public String receive(Duration timeout) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeval = arena.allocate(16, 8);
            timeval.set(JAVA_LONG, 0, Math.max(0, timeout.toSeconds()));
            timeval.set(JAVA_LONG, 8, Math.max(1, timeout.toMillisPart() * 1000L));
            // SOL_SOCKET = 1, SO_RCVTIMEO = 20 (x86-64 and arm64)
            if ((int) SETSOCKOPT.invokeExact(fd, 1, 20, timeval, 16) != 0) {
                throw new IOException("setsockopt(SO_RCVTIMEO) failed");
            }
            MemorySegment buffer = arena.allocate(4096);
            long received = (long) RECV.invokeExact(fd, buffer, 4096L, 0);
            if (received < 0) {
                return null;
            }
            return new String(buffer.asSlice(0, received).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable e) {
            throw new IOException(e);
        }
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }
}
