package dev.clawfence.agent.systemd;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.clawfence.agent.linux.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Sends systemd's readiness and status notifications ({@code sd_notify(3)}: {@code READY=1},
 * {@code STATUS=…}, {@code STOPPING=1}) as one {@code AF_UNIX} datagram each to the socket named by
 * {@code $NOTIFY_SOCKET}: a file path, or an abstract-namespace name written with a leading {@code @}.
 * Without {@code NOTIFY_SOCKET} (not started by systemd, or not {@code Type=notify}) every method does
 * nothing. A notification that cannot be sent is logged as a warning and never thrown: the agent's
 * enforcement must not depend on the service manager listening.
 *
 * <p>The JDK's channels cannot send {@code AF_UNIX} datagrams, so this calls {@code socket(2)} and
 * {@code sendto(2)} through the FFM API ({@link Libc}) (the jar's manifest grants native access).
 */
public final class SystemdNotifier {

    /** The variable systemd sets for {@code Type=notify} services. */
    public static final String VARIABLE = "NOTIFY_SOCKET";

    private static final SystemdNotifier DISABLED = new SystemdNotifier(null, null, message -> { });

    /** {@code sizeof(sockaddr_un.sun_path)} on Linux. */
    static final int SUN_PATH = 108;

    private final String socket;
    private final byte[] address;
    private final Consumer<String> log;

    private SystemdNotifier(String socket, byte[] address, Consumer<String> log) {
        this.socket = socket;
        this.address = address;
        this.log = log;
    }

    /**
     * The notifier for {@code env}'s {@code NOTIFY_SOCKET}; a disabled one when it is unset or empty,
     * and (with a warning naming the variable) when it is not a socket this class can address.
     */
    public static SystemdNotifier fromEnvironment(Map<String, String> env, Consumer<String> log) {
        String socket = env.get(VARIABLE);
        if (socket == null || socket.isEmpty()) {
            return DISABLED;
        }
        try {
            SystemdNotifier notifier = new SystemdNotifier(socket, address(socket), log);
            // Linking the libc calls takes a few hundred milliseconds on a busy host: do it while the stored
            // policy is being applied, not after, so that READY=1 is not delayed by it.
            Thread.ofPlatform().daemon().name("sd-notify-link").start(() -> {
                try {
                    Native.link();
                } catch (RuntimeException | LinkageError e) {
                    // the first send reports it
                }
            });
            return notifier;
        } catch (IllegalArgumentException e) {
            log.accept("warning: " + e.getMessage() + "; systemd will not hear that the agent is ready");
            return DISABLED;
        }
    }

    /**
     * The {@code sun_path} bytes for {@code socket}: the path and its terminating NUL, or for
     * {@code @name} a NUL and the name (abstract names are not NUL-terminated; their length counts).
     *
     * @throws IllegalArgumentException naming {@code NOTIFY_SOCKET} and what is wrong with it
     */
    static byte[] address(String socket) {
        byte[] name = socket.getBytes(StandardCharsets.UTF_8);
        if (socket.startsWith("@")) {
            if (name.length > SUN_PATH || name.length < 2) {
                throw new IllegalArgumentException(VARIABLE + ": the abstract socket name \"" + socket + "\" must have 1 to "
                        + (SUN_PATH - 1) + " bytes after the @");
            }
            name[0] = 0;
            return name;
        }
        if (socket.startsWith("/")) {
            if (name.length + 1 > SUN_PATH || socket.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(VARIABLE + ": the socket path \"" + socket + "\" is longer than the "
                        + (SUN_PATH - 1) + " bytes an AF_UNIX address holds");
            }
            byte[] terminated = new byte[name.length + 1];
            System.arraycopy(name, 0, terminated, 0, name.length);
            return terminated;
        }
        throw new IllegalArgumentException(VARIABLE + ": \"" + socket + "\" is neither an absolute socket path nor an abstract socket (@name)"
                + (socket.startsWith("vsock:") ? "; VSOCK notification is not supported" : ""));
    }

    /** Whether notifications go anywhere. */
    public boolean enabled() {
        return address != null;
    }

    /** {@code READY=1} with a status line: the unit's start job completes, and units ordered after it may start. */
    public boolean ready(String status) {
        return send("READY=1\nSTATUS=" + line(status) + "\n");
    }

    /** A status line for {@code systemctl status}. */
    public boolean status(String status) {
        return send("STATUS=" + line(status) + "\n");
    }

    /** {@code STOPPING=1} with a status line. */
    public boolean stopping(String status) {
        return send("STOPPING=1\nSTATUS=" + line(status) + "\n");
    }

    /** STATUS is one line of the datagram; a newline in it would start a bogus assignment. */
    private static String line(String status) {
        return status.replaceAll("\\s*\\R\\s*", " ");
    }

    /** Sends {@code state} (newline-separated assignments); false, after logging why, when it could not be sent. */
    synchronized boolean send(String state) {
        if (address == null) {
            return false;
        }
        String problem;
        try {
            problem = Native.send(address, state.getBytes(StandardCharsets.UTF_8));
        } catch (RuntimeException | LinkageError e) {
            problem = "native access failed: " + e;
        }
        if (problem != null) {
            log.accept("warning: cannot notify systemd through " + VARIABLE + "=" + socket + ": " + problem);
            return false;
        }
        return true;
    }

    /** The libc calls; {@link Libc} is linked only when NOTIFY_SOCKET is set, so a disabled notifier never touches native code. */
    private static final class Native {

        /** Initialises {@link Libc} (the method handles); a failure shows at the first send. */
        static void link() {
            Libc.captureState(Arena.global());
        }

        /** Sends one datagram to {@code sunPath}; null when sent, else the reason. */
        static String send(byte[] sunPath, byte[] payload) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = Libc.captureState(arena);
                int fd = (int) Libc.SOCKET.invokeExact(state, Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
                if (fd < 0) {
                    return "socket(AF_UNIX, SOCK_DGRAM): " + describe(state);
                }
                try {
                    // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
                    MemorySegment sockaddr = arena.allocate(2 + SUN_PATH, 2);
                    sockaddr.set(JAVA_SHORT, 0, (short) Libc.AF_UNIX);
                    MemorySegment.copy(sunPath, 0, sockaddr, JAVA_BYTE, 2, sunPath.length);
                    MemorySegment data = arena.allocateFrom(JAVA_BYTE, payload);
                    long sent = (long) Libc.SENDTO.invokeExact(state, fd, data, (long) payload.length, Libc.MSG_NOSIGNAL,
                            sockaddr, 2 + sunPath.length);
                    if (sent < 0) {
                        return "sendto: " + describe(state);
                    }
                    return sent == payload.length ? null : "sendto sent " + sent + " of " + payload.length + " bytes";
                } finally {
                    int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
                }
            } catch (Throwable e) {
                throw Libc.rethrow(e);
            }
        }

        private static String describe(MemorySegment state) {
            int errno = Libc.errno(state);
            return Libc.strerror(errno) + " (errno " + errno + ")";
        }
    }
}
