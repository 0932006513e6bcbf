/**
 * Connection logging from the kernel: the NFLOG reader. Pure parsing of nfnetlink_log datagrams into
 * {@link dev.clawfence.agent.nflog.LoggedPacket}s ({@link dev.clawfence.agent.nflog.NflogParser}, no
 * native code), the log prefix format ({@link dev.clawfence.agent.nflog.PrefixCodec}, independent of the
 * parser), and the netlink socket through the Java FFM API ({@link dev.clawfence.agent.nflog.NflogSocket},
 * {@link dev.clawfence.agent.nflog.NflogReader}). Nothing here runs a command or knows the wire protocol.
 */
package dev.clawfence.agent.nflog;
