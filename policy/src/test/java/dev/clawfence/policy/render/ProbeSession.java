package dev.clawfence.policy.render;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A long-running probe that {@link KernelDifferentialTest} starts once inside each network namespace
 * (with {@code ip netns exec}), so that hundreds of connections cost no process start each.
 *
 * <p>{@code ProbeSession ADDRESSES PORTS} (comma-separated) listens on every port of {@code PORTS}: tcp
 * on the wildcard address (accept, then close), udp on each address of {@code ADDRESSES} separately
 * (echo), because a udp reply from a wildcard socket would leave from the route's preferred address
 * instead of the one the datagram was sent to, and neither the sender's connected socket nor conntrack
 * would take it as the reply. It prints {@code READY}, then reads commands from stdin, one per line:
 * {@code tcp|udp SOURCE SOURCE_PORT DESTINATION PORT}, and answers each with one line: {@code OK} (tcp
 * connected, udp echoed), {@code REFUSED} (tcp reset, ICMP port-unreachable), {@code DENIED} (the
 * local kernel would not send the udp datagram: EPERM, what a reject in the sender's own output hook
 * gives), {@code TIMEOUT}, or {@code ERROR <what>} (any other failure, e.g. an ICMP host or
 * admin-prohibited error on tcp). A timed-out
 * attempt is tried once more from {@code SOURCE_PORT + 10000}, so a datagram lost to a scheduling
 * hiccup on a loaded machine is not mistaken for a verdict; the caller keeps both port ranges free.
 * It ends when stdin closes.
 */
public final class ProbeSession {

    static final String READY = "READY";
    static final int RETRY_PORT_OFFSET = 10_000;
    private static final int TIMEOUT_MILLIS = 1500;

    private ProbeSession() {}

    public static void main(String[] args) throws IOException {
        List<InetAddress> addresses = new ArrayList<>();
        for (String address : args[0].split(",")) {
            addresses.add(InetAddress.ofLiteral(address));
        }
        List<Integer> ports = new ArrayList<>();
        for (String port : args[1].split(",")) {
            ports.add(Integer.parseInt(port));
        }
        Selector selector = listen(addresses, ports);
        Thread.ofPlatform().daemon().name("probe-listeners").start(() -> serve(selector));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        out.println(READY);
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] parts = line.strip().split(" ");
            String result;
            if (parts.length != 5) {
                result = "ERROR expected: tcp|udp SOURCE SOURCE_PORT DESTINATION PORT, got " + line;
            } else {
                int sourcePort = Integer.parseInt(parts[2]);
                result = attempt(parts[0], parts[1], sourcePort, parts[3], Integer.parseInt(parts[4]));
                if (result.equals("TIMEOUT")) {
                    result = attempt(parts[0], parts[1], sourcePort + RETRY_PORT_OFFSET, parts[3], Integer.parseInt(parts[4]));
                }
            }
            out.println(result);
            out.flush();
        }
    }

    private static Selector listen(List<InetAddress> addresses, List<Integer> ports) throws IOException {
        Selector selector = Selector.open();
        for (int port : ports) {
            ServerSocketChannel server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(port), 256);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            for (InetAddress address : addresses) {
                DatagramChannel udp = DatagramChannel.open(address instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
                udp.bind(new InetSocketAddress(address, port));
                udp.configureBlocking(false);
                udp.register(selector, SelectionKey.OP_READ);
            }
        }
        return selector;
    }

    private static void serve(Selector selector) {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        while (true) {
            try {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    if (key.channel() instanceof ServerSocketChannel server) {
                        SocketChannel accepted = server.accept();
                        if (accepted != null) {
                            accepted.close();
                        }
                    } else if (key.channel() instanceof DatagramChannel udp) {
                        buffer.clear();
                        var sender = udp.receive(buffer);
                        if (sender != null) {
                            buffer.flip();
                            udp.send(buffer, sender);
                        }
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                // One failed accept or echo must not stop the others; the attempt that needed it times out.
                System.err.println("probe listener: " + e);
            }
        }
    }

    private static String attempt(String proto, String source, int sourcePort, String destination, int port) {
        InetSocketAddress from = new InetSocketAddress(InetAddress.ofLiteral(source), sourcePort);
        InetSocketAddress to = new InetSocketAddress(InetAddress.ofLiteral(destination), port);
        try {
            if (proto.equals("tcp")) {
                try (Socket socket = new Socket()) {
                    socket.setReuseAddress(true);
                    socket.bind(from);
                    socket.connect(to, TIMEOUT_MILLIS);
                    return "OK";
                }
            }
            try (DatagramSocket socket = new DatagramSocket(null)) {
                socket.setReuseAddress(true);
                socket.bind(from);
                socket.connect(to);
                socket.setSoTimeout(TIMEOUT_MILLIS);
                try {
                    socket.send(new DatagramPacket(new byte[] {'x'}, 1));
                } catch (IOException e) {
                    // A datagram rejected in this host's own output hook is never sent: the send fails with EPERM.
                    if (String.valueOf(e.getMessage()).contains("Operation not permitted")) {
                        return "DENIED";
                    }
                    throw e;
                }
                socket.receive(new DatagramPacket(new byte[64], 64));
                return "OK";
            }
        } catch (PortUnreachableException e) {
            return "REFUSED";
        } catch (ConnectException e) {
            // A reset reads "Connection refused"; an ICMP error on tcp is a different failure.
            return String.valueOf(e.getMessage()).contains("refused") ? "REFUSED" : "ERROR " + e;
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        } catch (IOException e) {
            return "ERROR " + e;
        }
    }
}
