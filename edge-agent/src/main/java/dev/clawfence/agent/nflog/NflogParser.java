package dev.clawfence.agent.nflog;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Turns one netlink datagram from an nfnetlink_log socket into {@link LoggedPacket}s: walks every netlink
 * message in it, reads the nfnetlink_log attributes and the copied IPv4/IPv6 and transport headers. Pure:
 * no native code, no I/O, no state; any byte sequence either parses or raises {@link NflogFormatException},
 * never another exception, and every loop advances by at least four bytes, so it always ends.
 *
 * <p>Layouts from {@code linux/netlink.h}, {@code linux/netfilter/nfnetlink.h} and
 * {@code linux/netfilter/nfnetlink_log.h}: netlink and attribute headers are in host byte order, the
 * nfnetlink_log attribute values in network byte order.
 */
public final class NflogParser {

    /** Receives what one datagram carried, in order. */
    public interface Sink {

        void packet(LoggedPacket packet);

        /**
         * An NLMSG_ERROR message: {@code errno} 0 is the acknowledgement of a request, anything else the
         * kernel's refusal of request {@code sequence}. Log datagrams carry none; the default ignores them.
         */
        default void error(int errno, int sequence) {}
    }

    static final int NLMSG_HDRLEN = 16;
    static final int NLMSG_NOOP = 1;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLMSG_OVERRUN = 4;
    static final int NFNL_SUBSYS_ULOG = 4;
    static final int NFULNL_MSG_PACKET = 0;
    static final int NFULNL_MSG_CONFIG = 1;
    static final int NLA_HDRLEN = 4;
    /** The two high bits of nla_type are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER), not part of the type. */
    static final int NLA_TYPE_MASK = 0x3fff;

    static final int NFULA_PACKET_HDR = 1;
    static final int NFULA_TIMESTAMP = 3;
    static final int NFULA_IFINDEX_INDEV = 4;
    static final int NFULA_IFINDEX_OUTDEV = 5;
    static final int NFULA_PAYLOAD = 9;
    static final int NFULA_PREFIX = 10;
    static final int NFULA_SEQ = 12;

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;

    private NflogParser() {}

    /**
     * Parses the bytes between {@code datagram}'s position and limit (which are left unchanged) and hands
     * each logged packet to {@code sink}; returns how many it handed over. Messages of other types are
     * skipped; NLMSG_DONE ends the walk. Packets without a kernel timestamp get {@code receivedAt}.
     */
    public static int parse(ByteBuffer datagram, Instant receivedAt, Sink sink) throws NflogFormatException {
        ByteBuffer host = datagram.duplicate().order(ByteOrder.nativeOrder());
        ByteBuffer net = datagram.duplicate().order(ByteOrder.BIG_ENDIAN);
        int end = datagram.limit();
        int offset = datagram.position();
        int packets = 0;
        while (offset < end) {
            if (end - offset < NLMSG_HDRLEN) {
                throw new NflogFormatException("netlink header at offset " + offset + ": only " + (end - offset)
                        + " bytes left, a header needs " + NLMSG_HDRLEN);
            }
            int length = host.getInt(offset);
            if (length < NLMSG_HDRLEN || length > end - offset) {
                throw new NflogFormatException("netlink header at offset " + offset + ": nlmsg_len " + Integer.toUnsignedString(length)
                        + " is outside " + NLMSG_HDRLEN + ".." + (end - offset) + " (the bytes left in the datagram)");
            }
            int type = host.getShort(offset + 4) & 0xffff;
            if (type == NLMSG_DONE) {
                return packets;
            } else if (type == NLMSG_ERROR) {
                if (length < NLMSG_HDRLEN + 4) {
                    throw new NflogFormatException("NLMSG_ERROR at offset " + offset + ": nlmsg_len " + length
                            + " leaves no room for the error code");
                }
                sink.error(-host.getInt(offset + NLMSG_HDRLEN), host.getInt(offset + 8));
            } else if (type == (NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET)) {
                sink.packet(packet(host, net, offset, offset + length, receivedAt));
                packets++;
            }
            // NOOP, OVERRUN, config echoes and other subsystems carry no logged packet.
            offset += align(length);
        }
        return packets;
    }

    private static LoggedPacket packet(ByteBuffer host, ByteBuffer net, int start, int end, Instant receivedAt)
            throws NflogFormatException {
        int nfgen = start + NLMSG_HDRLEN;
        if (end - nfgen < 4) {
            throw new NflogFormatException("NFULNL_MSG_PACKET at offset " + start + ": no room for the 4-byte nfgenmsg");
        }
        int family = net.get(nfgen) & 0xff;
        int hook = LoggedPacket.UNKNOWN;
        Instant time = receivedAt;
        int inInterface = 0;
        int outInterface = 0;
        long sequence = LoggedPacket.UNKNOWN;
        String prefix = "";
        int payload = -1;
        int payloadLength = 0;
        int attribute = nfgen + 4;
        while (attribute < end) {
            if (end - attribute < NLA_HDRLEN) {
                throw new NflogFormatException("attribute at offset " + attribute + ": only " + (end - attribute)
                        + " bytes left in the message, a header needs " + NLA_HDRLEN);
            }
            int length = host.getShort(attribute) & 0xffff;
            if (length < NLA_HDRLEN || length > end - attribute) {
                throw new NflogFormatException("attribute at offset " + attribute + ": nla_len " + length
                        + " is outside " + NLA_HDRLEN + ".." + (end - attribute) + " (the bytes left in the message)");
            }
            int type = host.getShort(attribute + 2) & NLA_TYPE_MASK;
            int value = attribute + NLA_HDRLEN;
            int size = length - NLA_HDRLEN;
            switch (type) {
                case NFULA_PACKET_HDR -> {
                    require(size, 4, "NFULA_PACKET_HDR", attribute);
                    hook = net.get(value + 2) & 0xff;
                }
                case NFULA_TIMESTAMP -> {
                    require(size, 16, "NFULA_TIMESTAMP", attribute);
                    time = timestamp(net.getLong(value), net.getLong(value + 8), attribute);
                }
                case NFULA_IFINDEX_INDEV -> {
                    require(size, 4, "NFULA_IFINDEX_INDEV", attribute);
                    inInterface = net.getInt(value);
                }
                case NFULA_IFINDEX_OUTDEV -> {
                    require(size, 4, "NFULA_IFINDEX_OUTDEV", attribute);
                    outInterface = net.getInt(value);
                }
                case NFULA_SEQ -> {
                    require(size, 4, "NFULA_SEQ", attribute);
                    sequence = Integer.toUnsignedLong(net.getInt(value));
                }
                case NFULA_PREFIX -> prefix = string(net, value, size);
                case NFULA_PAYLOAD -> {
                    payload = value;
                    payloadLength = size;
                }
                default -> { /* hardware addresses, uid/gid, conntrack: not needed for an event */ }
            }
            attribute += align(length);
        }
        if (payload < 0) {
            throw new NflogFormatException("NFULNL_MSG_PACKET at offset " + start
                    + ": no NFULA_PAYLOAD attribute (the group must be configured with copy mode packet)");
        }
        return headers(net, payload, payloadLength, family, hook, time, prefix, inInterface, outInterface, sequence);
    }

    private static LoggedPacket headers(ByteBuffer net, int ip, int length, int family, int hook, Instant time, String prefix,
            int inInterface, int outInterface, long sequence) throws NflogFormatException {
        if (length < 1) {
            throw new NflogFormatException("NFULA_PAYLOAD at offset " + ip + ": empty, an IP header was expected");
        }
        int version = (net.get(ip) & 0xff) >>> 4;
        if ((family == AF_INET && version != 4) || (family == AF_INET6 && version != 6)) {
            throw new NflogFormatException("NFULA_PAYLOAD at offset " + ip + ": IP version " + version
                    + " does not match the message's family " + family);
        }
        int protocol;
        InetAddress source;
        InetAddress destination;
        int transport;
        if (version == 4) {
            if (length < 20) {
                throw new NflogFormatException("IPv4 header at offset " + ip + ": " + length + " bytes copied, at least 20 needed");
            }
            int headerLength = (net.get(ip) & 0x0f) * 4;
            if (headerLength < 20 || headerLength > length) {
                throw new NflogFormatException("IPv4 header at offset " + ip + ": IHL gives " + headerLength
                        + " bytes, must be 20.." + Math.min(60, length));
            }
            protocol = net.get(ip + 9) & 0xff;
            source = address(net, ip + 12, 4);
            destination = address(net, ip + 16, 4);
            boolean laterFragment = (net.getShort(ip + 6) & 0x1fff) != 0;
            transport = laterFragment ? -1 : ip + headerLength;
        } else if (version == 6) {
            if (length < 40) {
                throw new NflogFormatException("IPv6 header at offset " + ip + ": " + length + " bytes copied, at least 40 needed");
            }
            source = address(net, ip + 8, 16);
            destination = address(net, ip + 24, 16);
            int next = net.get(ip + 6) & 0xff;
            int offset = ip + 40;
            int end = ip + length;
            transport = offset;
            protocol = LoggedPacket.UNKNOWN;
            // Each extension header is at least 8 bytes long, so the walk ends.
            while (true) {
                if (next == 0 || next == 43 || next == 60 || next == 51) { // hop-by-hop, routing, destination options, AH
                    if (end - offset < 2) {
                        transport = -1;
                        break;
                    }
                    int headerLength = next == 51 ? ((net.get(offset + 1) & 0xff) + 2) * 4 : ((net.get(offset + 1) & 0xff) + 1) * 8;
                    next = net.get(offset) & 0xff;
                    offset += headerLength;
                } else if (next == 44) { // fragment
                    if (end - offset < 8) {
                        transport = -1;
                        break;
                    }
                    boolean laterFragment = (net.getShort(offset + 2) & 0xfff8) != 0;
                    next = net.get(offset) & 0xff;
                    offset += 8;
                    if (laterFragment) {
                        protocol = next;
                        transport = -1;
                        break;
                    }
                } else {
                    protocol = next;
                    transport = offset;
                    break;
                }
            }
        } else {
            throw new NflogFormatException("NFULA_PAYLOAD at offset " + ip + ": IP version " + version + " is neither 4 nor 6");
        }
        int sourcePort = LoggedPacket.UNKNOWN;
        int destinationPort = LoggedPacket.UNKNOWN;
        int icmpType = LoggedPacket.UNKNOWN;
        int icmpCode = LoggedPacket.UNKNOWN;
        int left = transport < 0 ? 0 : ip + length - transport;
        switch (protocol) {
            case 6, 17, 33, 132, 136 -> { // tcp, udp, dccp, sctp, udplite: ports first
                if (left >= 4) {
                    sourcePort = net.getShort(transport) & 0xffff;
                    destinationPort = net.getShort(transport + 2) & 0xffff;
                }
            }
            case 1, 58 -> { // icmp, ipv6-icmp
                if (left >= 2) {
                    icmpType = net.get(transport) & 0xff;
                    icmpCode = net.get(transport + 1) & 0xff;
                }
            }
            default -> { }
        }
        return new LoggedPacket(time, family, hook, protocol, source, destination, sourcePort, destinationPort, icmpType, icmpCode,
                prefix, inInterface, outInterface, sequence);
    }

    private static void require(int size, int needed, String attribute, int offset) throws NflogFormatException {
        if (size < needed) {
            throw new NflogFormatException(attribute + " at offset " + offset + ": " + size + " value bytes, " + needed + " needed");
        }
    }

    private static Instant timestamp(long seconds, long micros, int offset) throws NflogFormatException {
        if (seconds < 0 || seconds > Instant.MAX.getEpochSecond() || micros < 0 || micros >= 1_000_000) {
            throw new NflogFormatException("NFULA_TIMESTAMP at offset " + offset + ": " + Long.toUnsignedString(seconds) + " s "
                    + Long.toUnsignedString(micros) + " µs is not a time (µs must be 0..999999)");
        }
        return Instant.ofEpochSecond(seconds, micros * 1000);
    }

    /** The kernel sends the prefix NUL-terminated; a missing NUL is tolerated, bytes after it are ignored. */
    private static String string(ByteBuffer net, int value, int size) {
        int length = 0;
        while (length < size && net.get(value + length) != 0) {
            length++;
        }
        byte[] bytes = new byte[length];
        net.get(value, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static InetAddress address(ByteBuffer net, int offset, int size) {
        byte[] bytes = new byte[size];
        net.get(offset, bytes);
        try {
            // Inet6Address directly: InetAddress.getByAddress would turn ::ffff:a.b.c.d into an IPv4 address.
            return size == 4 ? InetAddress.getByAddress(bytes) : Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("address of " + size + " bytes", e); // lengths are fixed above
        }
    }

    static int align(int length) {
        return (length + 3) & ~3;
    }
}
