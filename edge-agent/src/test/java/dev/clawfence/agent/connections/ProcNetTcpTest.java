package dev.clawfence.agent.connections;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.policy.Direction;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcNetTcpTest {

    private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    /**
     * Lines as a little-endian kernel prints them: a server on 198.51.100.10:443 (listening on all
     * addresses), one inbound connection from 203.0.113.7:51000, one outbound from the host to
     * 192.0.2.80:5432, and a TIME_WAIT left over.
     */
    private static final String TCP = HEADER
            + "   0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
            + "   1: 0A6433C6:01BB 077100CB:C738 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n"
            + "   2: 0A6433C6:A000 500200C0:1538 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n"
            + "   3: 0A6433C6:A001 500200C0:1538 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0\n";

    /** A dual-stack listener on [::]:8080 with an IPv6 client 2001:db8::7 and an IPv4-mapped one 203.0.113.9. */
    private static final String TCP6 = HEADER
            + "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0\n"
            + "   1: B80D0120000000000000000001000000:1F90 B80D0120000000000000000007000000:D431 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0\n"
            + "   2: 0000000000000000FFFF00000A6433C6:1F90 0000000000000000FFFF0000097100CB:D432 01 00000000:00000000 00:00000000 00000000     0        0 6 1 0\n";

    @TempDir
    Path dir;

    @Test
    void establishedSocketsAreInboundWhenAListenerOwnsTheirPort() throws IOException {
        Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "the sample lines are as a little-endian kernel prints them");
        Files.writeString(dir.resolve("tcp"), TCP);
        Files.writeString(dir.resolve("tcp6"), TCP6);
        Instant now = Instant.parse("2026-11-24T12:00:00Z");

        ConnectionTable table = new ProcNetTcp(dir, Clock.fixed(now, ZoneOffset.UTC)).read();

        assertThat(table.takenAt()).isEqualTo(now);
        assertThat(table.connections()).containsExactly(
                new HostConnection(Direction.INBOUND, ip("198.51.100.10"), 443, ip("203.0.113.7"), 51000),
                new HostConnection(Direction.INBOUND, ip("2001:db8::1"), 8080, ip("2001:db8::7"), 54321),
                new HostConnection(Direction.INBOUND, ip("198.51.100.10"), 8080, ip("203.0.113.9"), 54322),
                new HostConnection(Direction.OUTBOUND, ip("198.51.100.10"), 40960, ip("192.0.2.80"), 5432));
        assertThat(table.total(Direction.INBOUND)).isEqualTo(3);
        assertThat(table.total(Direction.OUTBOUND)).isEqualTo(1);
        assertThat(table.topPorts(2)).containsExactly(
                new ConnectionTable.PortCount(Direction.INBOUND, 8080, 2),
                new ConnectionTable.PortCount(Direction.INBOUND, 443, 1));
    }

    @Test
    void aHostWithoutIpv6HasNoTcp6TableAndThatIsFine() throws IOException {
        Files.writeString(dir.resolve("tcp"), HEADER);
        assertThat(new ProcNetTcp(dir, Clock.systemUTC()).read().connections()).isEmpty();
    }

    @Test
    void aLineThatDoesNotReadIsNamed() throws IOException {
        Files.writeString(dir.resolve("tcp"), HEADER + "   0: 0A6433:01BB 00000000:0000 0A 0\n");
        assertThatThrownBy(() -> new ProcNetTcp(dir, Clock.systemUTC()).read())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("socket table line 2 does not read")
                .hasMessageContaining("8 or 32 hex digits");
    }

    /** The real table of this process's namespace: a loopback connection shows as one inbound and one outbound. */
    @Test
    void theKernelTableShowsBothEndsOfALoopbackConnection() throws IOException {
        Assumptions.assumeTrue(Files.exists(Path.of("/proc/net/tcp")), "no /proc/net/tcp (not Linux)");
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort()); Socket accepted = server.accept()) {
                List<HostConnection> connections = ProcNetTcp.system().read().connections();
                assertThat(connections).contains(
                        new HostConnection(Direction.INBOUND, InetAddress.getLoopbackAddress(), server.getLocalPort(),
                                InetAddress.getLoopbackAddress(), client.getLocalPort()),
                        new HostConnection(Direction.OUTBOUND, InetAddress.getLoopbackAddress(), client.getLocalPort(),
                                InetAddress.getLoopbackAddress(), server.getLocalPort()));
            }
        }
    }

    private static InetAddress ip(String text) throws IOException {
        return InetAddress.getByName(text);
    }
}
