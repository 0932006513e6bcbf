package dev.clawfence.agent.nflog;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Tiny builders for hand-made variants of golden datagrams (host byte order, as the kernel writes them). */
final class Datagrams {

    private Datagrams() {}

    /** The datagram padded to a 4-byte boundary, so that another message can follow it. */
    static byte[] aligned(byte[] datagram) {
        return Arrays.copyOf(datagram, (datagram.length + 3) & ~3);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** A bare netlink message header of {@code type} with {@code extra} bytes after it. */
    static byte[] message(int type, int sequence, byte[] extra) {
        ByteBuffer message = ByteBuffer.allocate(16 + extra.length).order(ByteOrder.nativeOrder());
        message.putInt(16 + extra.length).putShort((short) type).putShort((short) 0).putInt(sequence).putInt(0).put(extra);
        return message.array();
    }

    /** NLMSG_ERROR carrying {@code -errno} and the header of the request it answers. */
    static byte[] error(int errno, int sequence) {
        ByteBuffer body = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        body.putInt(-errno).putInt(16).putShort((short) 0x0401).putShort((short) 5).putInt(sequence).putInt(0);
        return message(NflogParser.NLMSG_ERROR, sequence, body.array());
    }

    /** The packet payload (NFULA_PAYLOAD value) of a single-message datagram. */
    static byte[] payload(byte[] datagram) {
        int[] found = attribute(datagram, NflogParser.NFULA_PAYLOAD);
        return Arrays.copyOfRange(datagram, found[0] + 4, found[0] + found[1]);
    }

    /** A single-message datagram with the value of attribute {@code type} replaced, lengths fixed up. */
    static byte[] withAttribute(byte[] datagram, int type, byte[] value) {
        int[] found = attribute(datagram, type);
        int oldLength = (found[1] + 3) & ~3;
        int newLength = (4 + value.length + 3) & ~3;
        byte[] attribute = new byte[newLength];
        ByteBuffer.wrap(attribute).order(ByteOrder.nativeOrder()).putShort((short) (4 + value.length)).putShort((short) type).put(value);
        int end = Math.min(found[0] + oldLength, datagram.length);
        byte[] result = concat(Arrays.copyOfRange(datagram, 0, found[0]), attribute, Arrays.copyOfRange(datagram, end, datagram.length));
        ByteBuffer.wrap(result).order(ByteOrder.nativeOrder()).putInt(0, result.length);
        return result;
    }

    /** The datagram without attribute {@code type}. */
    static byte[] withoutAttribute(byte[] datagram, int type) {
        int[] found = attribute(datagram, type);
        int end = Math.min(found[0] + ((found[1] + 3) & ~3), datagram.length);
        byte[] result = concat(Arrays.copyOfRange(datagram, 0, found[0]), Arrays.copyOfRange(datagram, end, datagram.length));
        ByteBuffer.wrap(result).order(ByteOrder.nativeOrder()).putInt(0, result.length);
        return result;
    }

    /** Offset and nla_len of the first attribute of {@code type} in a single-message datagram. */
    static int[] attribute(byte[] datagram, int type) {
        ByteBuffer host = ByteBuffer.wrap(datagram).order(ByteOrder.nativeOrder());
        int offset = 20;
        while (offset + 4 <= datagram.length) {
            int length = host.getShort(offset) & 0xffff;
            if ((host.getShort(offset + 2) & 0x3fff) == type) {
                return new int[] {offset, length};
            }
            offset += (length + 3) & ~3;
        }
        throw new IllegalArgumentException("no attribute " + type);
    }
}
