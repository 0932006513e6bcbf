package dev.clawfence.agent.nflog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clawfence.policy.render.Netns;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two network namespaces joined by a veth pair: {@code host} ({@code nl-a-*}: 198.51.100.1,
 * 2001:db8:7::1 on nl0) logs to NFLOG group 7 with an nft table of its own; {@code peer} ({@code nl-b-*}:
 * 198.51.100.2, 2001:db8:7::2 on nl1) sends the traffic. Documentation addresses only; closing deletes both.
 */
final class NflogLab implements AutoCloseable {

    static final int GROUP = 7;
    static final String HOST4 = "198.51.100.1";
    static final String PEER4 = "198.51.100.2";
    static final String HOST6 = "2001:db8:7::1";
    static final String PEER6 = "2001:db8:7::2";
    static final int BURST_FIRST_PORT = 20000;
    static final int BURST_PORTS = 10000;
    static final int BURST_LOGS = 8;

    /**
     * Every rule logs and accepts, so one packet is logged once; prefixes follow PrefixCodec's proposal. The
     * exception is the burst: each packet passes {@link #BURST_LOGS} log rules, because one sending thread
     * cannot make packets as fast as the reader takes events; the counter counts packets.
     */
    static final String RULESET = """
            table inet nflogtest {
              counter burst {}
              chain input {
                type filter hook input priority 0; policy accept;
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.1 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.2 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.3 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.4 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.5 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.6 port-closed"
                iifname "nl0" udp dport 20000-29999 log group 7 prefix "cf1 b in.burst.7 port-closed"
                iifname "nl0" udp dport 20000-29999 counter name "burst" log group 7 prefix "cf1 b in.burst.8 port-closed" accept
                iifname "nl0" exthdr frag exists log group 7 prefix "cf1 a in.frag6 allowlisted" accept
                iifname "nl0" meta l4proto tcp log group 7 prefix "cf1 b in.tcp port-closed" accept
                iifname "nl0" meta l4proto udp log group 7 prefix "cf1 a in.udp allowlisted" accept
                iifname "nl0" icmp type echo-request log group 7 prefix "cf1 w in.icmp not-allowlisted" accept
                iifname "nl0" icmpv6 type echo-request log group 7 prefix "cf1 a in.icmp6" accept
              }
              chain output {
                type filter hook output priority 0; policy accept;
                oifname "nl0" meta l4proto udp log group 7 prefix "cf1 b out.udp unknown-destination" accept
              }
            }
            """;

    final Netns host;
    final Netns peer;

    private NflogLab(Netns host, Netns peer) {
        this.host = host;
        this.peer = peer;
    }

    static NflogLab create() throws IOException {
        Netns.assumeAvailable();
        Netns host = Netns.create("nl-a-");
        Netns peer;
        try {
            peer = Netns.create("nl-b-");
        } catch (IOException e) {
            host.close();
            throw e;
        }
        NflogLab lab = new NflogLab(host, peer);
        try {
            run(host, "ip", "link", "set", "lo", "up");
            run(peer, "ip", "link", "set", "lo", "up");
            run(host, "ip", "link", "add", "nl0", "type", "veth", "peer", "name", "nl1", "netns", peer.name());
            run(host, "ip", "addr", "add", HOST4 + "/24", "dev", "nl0");
            run(host, "ip", "-6", "addr", "add", HOST6 + "/64", "dev", "nl0", "nodad");
            run(peer, "ip", "addr", "add", PEER4 + "/24", "dev", "nl1");
            run(peer, "ip", "-6", "addr", "add", PEER6 + "/64", "dev", "nl1", "nodad");
            run(host, "ip", "link", "set", "nl0", "up");
            run(peer, "ip", "link", "set", "nl1", "up");
            Path script = Files.createTempFile("nflogtest", ".nft");
            try {
                Files.writeString(script, RULESET);
                run(host, "nft", "-f", script.toString());
            } finally {
                Files.delete(script);
            }
        } catch (IOException | RuntimeException | Error e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    Path hostNamespace() {
        return NetworkNamespace.named(host.name());
    }

    /** nl0's interface index in the host namespace, as {@code ip} reports it. */
    int hostInterface() throws IOException {
        String line = host.exec(List.of("ip", "-o", "link", "show", "nl0")).output();
        Matcher index = Pattern.compile("^(\\d+):").matcher(line);
        assertThat(index.find()).as("ip -o link show nl0: %s", line).isTrue();
        return Integer.parseInt(index.group(1));
    }

    /** Packets the burst rules counted so far; each was logged {@link #BURST_LOGS} times. */
    long burstCounter() throws IOException {
        String listing = host.exec(List.of("nft", "list", "counter", "inet", "nflogtest", "burst")).output();
        Matcher packets = Pattern.compile("packets (\\d+)").matcher(listing);
        assertThat(packets.find()).as("nft list counter: %s", listing).isTrue();
        return Long.parseLong(packets.group(1));
    }

    /** A TCP SYN from {@code source}:{@code sourcePort} in the peer namespace; the host refuses it. */
    void tcp(String source, int sourcePort, String destination, int port) throws IOException {
        NetworkNamespace.call(NetworkNamespace.named(peer.name()), () -> {
            try (Socket socket = new Socket()) {
                socket.bind(new InetSocketAddress(source, sourcePort));
                socket.connect(new InetSocketAddress(destination, port), 2000);
            } catch (ConnectException refused) {
                // expected: nothing listens, the SYN was logged on the way in
            }
            return null;
        });
    }

    /** One UDP datagram of {@code size} bytes, sent from the given namespace. */
    static void udp(Netns from, String source, int sourcePort, String destination, int port, int size) throws IOException {
        NetworkNamespace.call(NetworkNamespace.named(from.name()), () -> {
            InetAddress to = InetAddress.getByName(destination);
            try (DatagramChannel channel = DatagramChannel.open(to.getAddress().length == 4 ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6)) {
                channel.bind(new InetSocketAddress(source, sourcePort));
                channel.send(ByteBuffer.allocate(size), new InetSocketAddress(to, port));
            }
            return null;
        });
    }

    /** An ICMP or ICMPv6 echo request from the peer (Java uses a raw ICMP socket when it runs as root). */
    void ping(String destination) throws IOException {
        NetworkNamespace.call(NetworkNamespace.named(peer.name()), () -> InetAddress.getByName(destination).isReachable(1000));
    }

    /**
     * Sends {@code count} UDP datagrams from the peer to the host's burst ports as fast as one thread can;
     * returns the seconds it took.
     */
    double burst(int count) throws IOException {
        return NetworkNamespace.call(NetworkNamespace.named(peer.name()), () -> {
            try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)) {
                channel.bind(new InetSocketAddress(PEER4, 0));
                ByteBuffer payload = ByteBuffer.wrap("burst".getBytes(StandardCharsets.US_ASCII));
                InetAddress to = InetAddress.getByName(HOST4);
                long start = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    channel.send(payload.clear(), new InetSocketAddress(to, BURST_FIRST_PORT + i % BURST_PORTS));
                }
                return (System.nanoTime() - start) / 1e9;
            }
        });
    }

    private static void run(Netns ns, String... command) throws IOException {
        Netns.Result result = ns.exec(List.of(command));
        assertThat(result.exitCode()).as("%s: %s", String.join(" ", command), result.output()).isZero();
    }

    @Override
    public void close() throws IOException {
        try {
            peer.close();
        } finally {
            host.close();
        }
    }
}
