import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * What the FFM downcalls cost a small JVM (BENCHMARKS.md, "Edge agent footprint", fifth round). Modes:
 * {@code none} (nothing linked), {@code nocap} (one downcall handle, socket(2)), {@code one} (the same with
 * {@code captureCallState("errno")}, as the agent links them) and {@code libc} (the agent's own {@code Libc}:
 * every handle a running agent links, and one socket/close). Prints "ready" and sleeps 15 s, so that
 * {@code /proc/PID/status} and {@code -Xlog:class+load} can be read; the socket is a netlink socket that is
 * closed at once (needs no privilege, sends nothing).
 *
 * <pre>
 * javac -cp AGENT.jar -d /tmp/ffm edge-agent/bench/FfmCost.java
 * java FLAGS --enable-native-access=ALL-UNNAMED -Xlog:class+load=info:file=/tmp/ffm/MODE.log -cp AGENT.jar:/tmp/ffm FfmCost MODE
 * </pre>
 */
public class FfmCost {
    public static void main(String[] args) throws Throwable {
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor socket = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
        switch (args[0]) {
            case "none" -> { }
            case "nocap" -> {
                MethodHandle handle = linker.downcallHandle(linker.defaultLookup().find("socket").orElseThrow(), socket);
                int fd = (int) handle.invokeExact(16, 3, 12);
                System.out.println("socket " + fd);
            }
            case "one" -> {
                MethodHandle handle = linker.downcallHandle(linker.defaultLookup().find("socket").orElseThrow(), socket,
                        Linker.Option.captureCallState("errno"));
                try (Arena arena = Arena.ofConfined()) {
                    int fd = (int) handle.invokeExact(arena.allocate(Linker.Option.captureStateLayout()), 16, 3, 12);
                    System.out.println("socket " + fd);
                }
            }
            case "libc" -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment state = dev.clawfence.agent.linux.Libc.captureState(arena);
                    int fd = (int) dev.clawfence.agent.linux.Libc.SOCKET.invokeExact(state, 16, 3 | 0x80000, 12);
                    int closed = (int) dev.clawfence.agent.linux.Libc.CLOSE.invokeExact(state, fd);
                    System.out.println("socket " + fd + " closed " + closed);
                }
            }
            default -> throw new IllegalArgumentException("mode: expected none, nocap, one or libc, got " + args[0]);
        }
        System.out.println("ready");
        Thread.sleep(15_000);
    }
}
