package dev.clawfence.agent.nflog;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Golden datagrams: real nfnetlink_log datagrams captured by {@link NflogReaderIT} (run it with
 * {@code -Dnflog.capture=edge-agent/src/test/resources/nflog} to capture them again) together with what
 * the captured traffic was, in {@code src/test/resources/nflog/<case>.properties}. Netlink headers are in
 * host byte order, so the bytes are those of a little-endian (x86-64) host.
 */
record Golden(String name, byte[] datagram, List<Map<String, String>> packets) {

    static final List<String> CASES = List.of("tcp4", "tcp6", "udp4", "udp6", "icmp4", "icmp6", "frag6", "frag6-later", "out-udp4", "batch");

    /** The receive time passed to the parser for goldens: a packet without kernel timestamp shows it as "none". */
    static final Instant NO_TIMESTAMP = Instant.EPOCH;

    static Golden load(String name) {
        try (InputStream in = Golden.class.getResourceAsStream("/nflog/" + name + ".properties")) {
            if (in == null) {
                throw new IllegalStateException("no golden nflog/" + name + ".properties");
            }
            Properties properties = new Properties();
            properties.load(in);
            int count = Integer.parseInt(properties.getProperty("packets"));
            List<Map<String, String>> packets = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Map<String, String> fields = new LinkedHashMap<>();
                for (String field : FIELDS) {
                    fields.put(field, properties.getProperty("p" + i + "." + field));
                }
                packets.add(fields);
            }
            return new Golden(name, HexFormat.of().parseHex(properties.getProperty("datagram")), packets);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Golden> all() {
        return CASES.stream().map(Golden::load).toList();
    }

    static final List<String> FIELDS = List.of("time", "family", "hook", "protocol", "source", "destination", "sourcePort",
            "destinationPort", "icmpType", "icmpCode", "prefix", "inInterface", "outInterface", "sequence");

    /** A packet as the strings a golden file holds. */
    static Map<String, String> fields(LoggedPacket packet) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("time", packet.time().equals(NO_TIMESTAMP) ? "none" : packet.time().toString());
        fields.put("family", String.valueOf(packet.family()));
        fields.put("hook", String.valueOf(packet.hook()));
        fields.put("protocol", String.valueOf(packet.protocol()));
        fields.put("source", packet.source().getHostAddress());
        fields.put("destination", packet.destination().getHostAddress());
        fields.put("sourcePort", String.valueOf(packet.sourcePort()));
        fields.put("destinationPort", String.valueOf(packet.destinationPort()));
        fields.put("icmpType", String.valueOf(packet.icmpType()));
        fields.put("icmpCode", String.valueOf(packet.icmpCode()));
        fields.put("prefix", packet.prefix());
        fields.put("inInterface", String.valueOf(packet.inInterface()));
        fields.put("outInterface", String.valueOf(packet.outInterface()));
        fields.put("sequence", String.valueOf(packet.sequence()));
        return fields;
    }

    static List<LoggedPacket> parse(byte[] datagram) throws NflogFormatException {
        List<LoggedPacket> packets = new ArrayList<>();
        NflogParser.parse(ByteBuffer.wrap(datagram), NO_TIMESTAMP, packets::add);
        return packets;
    }
}
