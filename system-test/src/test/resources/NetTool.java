import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A tiny network helper run inside a namespace ({@code ip netns exec NS java NetTool.java}). One command per
 * stdin line, one answer per stdout line:
 * {@code listen ADDR PORT} → {@code OK}; {@code connect SRC|- DST PORT TIMEOUT_MS} →
 * {@code ESTABLISHED}, {@code REFUSED}, {@code TIMEOUT} or {@code ERROR <message>}.
 */
public class NetTool {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("READY");
        System.out.flush();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] p = line.trim().split(" ");
            String answer;
            try {
                answer = switch (p[0]) {
                    case "listen" -> listen(p[1], Integer.parseInt(p[2]));
                    case "connect" -> connect(p[1], p[2], Integer.parseInt(p[3]), Integer.parseInt(p[4]));
                    default -> "ERROR unknown command " + p[0];
                };
            } catch (Exception e) {
                answer = "ERROR " + e;
            }
            System.out.println(answer);
            System.out.flush();
        }
    }

    private static String listen(String address, int port) throws Exception {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(address), port), 128);
        Thread.ofVirtual().start(() -> {
            while (true) {
                try {
                    Socket socket = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (socket; InputStream input = socket.getInputStream()) {
                            input.transferTo(OutputStreamNull.INSTANCE);
                        } catch (Exception e) {
                            // peer gone
                        }
                    });
                } catch (Exception e) {
                    return;
                }
            }
        });
        return "OK";
    }

    private static String connect(String source, String address, int port, int timeoutMillis) throws Exception {
        try (Socket socket = new Socket()) {
            if (!source.equals("-")) {
                socket.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
            }
            socket.connect(new InetSocketAddress(InetAddress.getByName(address), port), timeoutMillis);
            return "ESTABLISHED";
        } catch (ConnectException e) {
            return e.getMessage() != null && e.getMessage().contains("refused") ? "REFUSED" : "ERROR " + e.getMessage();
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        }
    }

    private static final class OutputStreamNull extends java.io.OutputStream {
        static final OutputStreamNull INSTANCE = new OutputStreamNull();

        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] b, int off, int len) {}
    }
}
