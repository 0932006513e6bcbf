package dev.clawfence.agent.connections;

import dev.clawfence.policy.Direction;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads the kernel's TCP socket tables ({@code <dir>/tcp} and {@code <dir>/tcp6}, normally
 * {@code /proc/net}, which shows the reading process's network namespace). Only the tables, not
 * conntrack: they need no kernel module, no capability beyond reading /proc, and list the host's own
 * sockets, which is what "connections of this instance" means.
 */
public final class ProcNetTcp {

    /** st column of /proc/net/tcp (include/net/tcp_states.h). */
    static final int ESTABLISHED = 0x01;
    static final int LISTEN = 0x0A;

    /** One row of a table. */
    record Socket(InetAddress localAddress, int localPort, InetAddress remoteAddress, int remotePort, int state) {}

    private final Path dir;
    private final Clock clock;

    public ProcNetTcp(Path dir, Clock clock) {
        this.dir = dir;
        this.clock = clock;
    }

    public static ProcNetTcp system() {
        return new ProcNetTcp(Path.of("/proc/net"), Clock.systemUTC());
    }

    /** The established connections now; a missing tcp6 table (IPv6 disabled) counts as empty. */
    public ConnectionTable read() throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            try {
                sockets.addAll(parse(Files.readString(dir.resolve(table))));
            } catch (NoSuchFileException e) {
                if (table.equals("tcp")) {
                    throw e;
                }
            }
        }
        return new ConnectionTable(clock.instant(), established(sockets));
    }

    /**
     * The established sockets, each inbound when a listening socket owns its local port (bound to its local
     * address or to a wildcard), outbound otherwise.
     */
    static List<HostConnection> established(List<Socket> sockets) {
        List<Socket> listeners = sockets.stream().filter(s -> s.state() == LISTEN).toList();
        List<HostConnection> connections = new ArrayList<>();
        for (Socket socket : sockets) {
            if (socket.state() != ESTABLISHED) {
                continue;
            }
            boolean inbound = listeners.stream().anyMatch(listener -> listener.localPort() == socket.localPort()
                    && (listener.localAddress().isAnyLocalAddress() || listener.localAddress().equals(socket.localAddress())));
            connections.add(new HostConnection(inbound ? Direction.INBOUND : Direction.OUTBOUND,
                    socket.localAddress(), socket.localPort(), socket.remoteAddress(), socket.remotePort()));
        }
        return connections;
    }

    /** The rows of one table (header skipped); a row that does not read is an IOException naming it. */
    static List<Socket> parse(String table) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        String[] lines = table.split("\n");
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] fields = line.split("\\s+");
            try {
                String[] local = fields[1].split(":");
                String[] remote = fields[2].split(":");
                sockets.add(new Socket(address(local[0]), HexFormat.fromHexDigits(local[1]), address(remote[0]),
                        HexFormat.fromHexDigits(remote[1]), HexFormat.fromHexDigits(fields[3])));
            } catch (RuntimeException | UnknownHostException e) {
                throw new IOException("socket table line " + (i + 1) + " does not read: \"" + line + "\" (" + e.getMessage() + ")", e);
            }
        }
        return sockets;
    }

    /**
     * An address as the kernel prints it: each 32-bit word of the network-order address printed as a
     * number in host byte order. IPv4-mapped IPv6 addresses come back as IPv4 ({@link InetAddress#getByAddress}).
     */
    static InetAddress address(String hex) throws UnknownHostException {
        if (hex.length() != 8 && hex.length() != 32) {
            throw new IllegalArgumentException("an address has 8 or 32 hex digits, not " + hex.length());
        }
        ByteBuffer bytes = ByteBuffer.allocate(hex.length() / 2).order(ByteOrder.nativeOrder());
        for (int word = 0; word < hex.length(); word += 8) {
            bytes.putInt((int) HexFormat.fromHexDigitsToLong(hex, word, word + 8));
        }
        return InetAddress.getByAddress(bytes.array());
    }
}
