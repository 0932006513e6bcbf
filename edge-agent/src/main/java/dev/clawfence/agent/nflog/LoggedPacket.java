package dev.clawfence.agent.nflog;

import java.net.InetAddress;
import java.time.Instant;

/**
 * One packet the kernel logged to an NFLOG group, as far as the copied bytes tell. Ports and ICMP fields
 * are {@link #UNKNOWN} where the protocol has none or the copy ended before them (a non-first fragment,
 * or a copy range shorter than the headers).
 *
 * @param time        the kernel's timestamp of the packet, or the receive time where the kernel sent none
 * @param family      the netfilter family of the hook: 2 (IPv4) or 10 (IPv6) for ip, ip6 and inet tables;
 *                    bridge or netdev tables report their own, the IP version then comes from the header
 * @param hook        the netfilter hook: 0 prerouting, 1 input, 2 forward, 3 output, 4 postrouting
 * @param protocol    the transport protocol number (6 tcp, 17 udp, 1 icmp, 58 ipv6-icmp, ...)
 * @param prefix      the log prefix of the rule, "" where the rule has none; see {@link PrefixCodec}
 * @param inInterface the input interface index, 0 where there is none (output hook)
 * @param outInterface the output interface index, 0 where there is none (input hook)
 * @param sequence    the group's sequence number of this message, {@link #UNKNOWN} unless enabled
 */
public record LoggedPacket(
        Instant time,
        int family,
        int hook,
        int protocol,
        InetAddress source,
        InetAddress destination,
        int sourcePort,
        int destinationPort,
        int icmpType,
        int icmpCode,
        String prefix,
        int inInterface,
        int outInterface,
        long sequence) {

    /** A port, ICMP field or sequence number the message does not carry. */
    public static final int UNKNOWN = -1;

    /** Netfilter hook numbers (NF_INET_*), the kernel's view of where the rule ran. */
    public static final int HOOK_INPUT = 1;
    public static final int HOOK_FORWARD = 2;
    public static final int HOOK_OUTPUT = 3;
}
