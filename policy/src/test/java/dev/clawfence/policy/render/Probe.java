package dev.clawfence.policy.render;

import java.io.IOException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny network probe that {@link KernelSmokeTest} starts inside a network namespace with
 * {@code ip netns exec}: {@code server tcp:443 udp:5000 ...} listens (accepting and closing tcp,
 * echoing udp) and prints {@code READY}; {@code client tcp|udp SOURCE DEST PORT ...} (groups of four)
 * tries each connection and prints one line per attempt: {@code OK}, {@code REFUSED} or
 * {@code TIMEOUT}.
 */
public final class Probe {

    private Probe() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("server")) {
            server(List.of(args).subList(1, args.length));
        } else {
            for (int i = 1; i + 3 < args.length; i += 4) {
                System.out.println(attempt(args[i], args[i + 1], args[i + 2], Integer.parseInt(args[i + 3])));
            }
        }
    }

    private static void server(List<String> listeners) throws IOException, InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (String listener : listeners) {
            String[] parts = listener.split(":");
            int port = Integer.parseInt(parts[1]);
            if (parts[0].equals("tcp")) {
                ServerSocket socket = new ServerSocket();
                socket.bind(new InetSocketAddress(InetAddress.getByName("::"), port));
                threads.add(Thread.ofPlatform().daemon().start(() -> {
                    while (true) {
                        try (Socket accepted = socket.accept()) {
                            accepted.getOutputStream().write('x');
                        } catch (IOException e) {
                            return;
                        }
                    }
                }));
            } else {
                DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("::"), port));
                threads.add(Thread.ofPlatform().daemon().start(() -> {
                    byte[] buffer = new byte[64];
                    while (true) {
                        try {
                            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                            socket.receive(packet);
                            socket.send(new DatagramPacket(packet.getData(), packet.getLength(), packet.getSocketAddress()));
                        } catch (IOException e) {
                            return;
                        }
                    }
                }));
            }
        }
        System.out.println("READY");
        System.out.flush();
        // Runs until the test closes stdin or ends the process.
        while (System.in.read() >= 0) {
            // keep serving
        }
    }

    private static String attempt(String proto, String source, String destination, int port) {
        InetSocketAddress from = new InetSocketAddress(InetAddress.ofLiteral(source), 0);
        InetSocketAddress to = new InetSocketAddress(InetAddress.ofLiteral(destination), port);
        try {
            if (proto.equals("tcp")) {
                try (Socket socket = new Socket()) {
                    socket.bind(from);
                    socket.connect(to, 2000);
                    return "OK";
                }
            }
            try (DatagramSocket socket = new DatagramSocket(from)) {
                socket.connect(to);
                socket.setSoTimeout(2000);
                socket.send(new DatagramPacket(new byte[] {'x'}, 1));
                socket.receive(new DatagramPacket(new byte[64], 64));
                return "OK";
            }
        } catch (ConnectException | PortUnreachableException e) {
            return "REFUSED";
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        } catch (IOException e) {
            return "ERROR " + e;
        }
    }
}
