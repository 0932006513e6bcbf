package dev.clawfence.agent.nflog;

import dev.clawfence.agent.linux.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A netlink socket bound to one nfnetlink_log group, through the Java FFM API (no JNI, no daemon). Opening
 * binds the group and configures it in one request: copy the first {@code copyRange} bytes of each packet
 * (enough for the IP and transport headers), batch messages up to {@code batchBytes} or
 * {@code flushTimeout}, and number them (NFULNL_CFG_F_SEQ) so that a gap shows messages the kernel dropped.
 * {@link #receive()} returns one datagram at a time in a reused buffer and counts the kernel's ENOBUFS
 * signals: nothing is lost silently. Not thread-safe: one reader thread receives, and closes it after.
 *
 * <p>It never sends NFULNL_CFG_CMD_PF_BIND: the nft and iptables {@code log group} rules reach
 * nfnetlink_log by type, and binding the family would also make it the default logger of every other
 * {@code log} rule on the host.
 */
public final class NflogSocket implements AutoCloseable {

    /**
     * How the group is configured.
     *
     * @param group          the NFLOG group, 0..65535, as in the rule's {@code log group N}
     * @param copyRange      bytes of each packet to copy: 96 holds IPv6 + two extension headers + TCP
     * @param batchBytes     the kernel's batch buffer (NFULA_CFG_NLBUFSIZ), at most 131072
     * @param flushTimeout   how long the kernel may hold a batch that is not full (NFULA_CFG_TIMEOUT, 1/100 s)
     * @param queueThreshold messages per batch at most (NFULA_CFG_QTHRESH)
     * @param receiveBuffer  the socket's receive buffer in bytes (SO_RCVBUFFORCE, SO_RCVBUF without CAP_NET_ADMIN)
     * @param pollInterval   how long one {@link #receive()} waits at most, so a reader notices a stop
     */
    public record Options(int group, int copyRange, int batchBytes, Duration flushTimeout, int queueThreshold,
            int receiveBuffer, Duration pollInterval) {

        public Options {
            check(group, 0, 65535, "group");
            check(copyRange, 40, 65535, "copyRange");
            check(batchBytes, 4096, MAX_BATCH, "batchBytes");
            check(queueThreshold, 1, 1_000_000, "queueThreshold");
            check(receiveBuffer, 4096, 1 << 30, "receiveBuffer");
            // 0 would switch the kernel's flush timer off: a quiet group would then hold its last events forever.
            if (flushTimeout.toMillis() < 10 || flushTimeout.toMillis() > 60_000) {
                throw new IllegalArgumentException("flushTimeout: " + flushTimeout + " is outside 10 ms..60 s");
            }
            if (pollInterval.toMillis() < 1 || pollInterval.toMillis() > 60_000) {
                throw new IllegalArgumentException("pollInterval: " + pollInterval + " is outside 1 ms..60 s");
            }
        }

        /** Group {@code group} with batches of up to 64 KiB or 50 ms and an 8 MiB receive buffer. */
        public static Options forGroup(int group) {
            return new Options(group, 96, 65536, Duration.ofMillis(50), 1000, 8 << 20, Duration.ofMillis(200));
        }

        private static void check(int value, int min, int max, String field) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(field + ": " + value + " is outside " + min + ".." + max);
            }
        }
    }

    /** The kernel caps nlbufsiz here (net/netfilter/nfnetlink_log.c); a batch never exceeds it. */
    static final int MAX_BATCH = 131072;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_ACK = 4;
    private static final int NFULNL_CFG_CMD_BIND = 1;
    private static final int NFULNL_COPY_PACKET = 2;
    private static final int NFULNL_CFG_F_SEQ = 1;
    private static final int NFULA_CFG_CMD = 1;
    private static final int NFULA_CFG_MODE = 2;
    private static final int NFULA_CFG_NLBUFSIZ = 3;
    private static final int NFULA_CFG_TIMEOUT = 4;
    private static final int NFULA_CFG_QTHRESH = 5;
    private static final int NFULA_CFG_FLAGS = 6;
    private static final int SOCKADDR_NL_SIZE = 12;

    private final Options options;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.captureState(arena);
    private final MemorySegment buffer;
    private final ByteBuffer view;
    private final Deque<ByteBuffer> early = new ArrayDeque<>();
    private final int fd;
    private final int receiveBufferGranted;
    private volatile long overruns;
    private volatile long truncated;
    private boolean closed;

    private NflogSocket(Options options) throws IOException {
        this.options = options;
        // One batch plus room for a single message bigger than the batch (copyRange bounds it).
        this.buffer = arena.allocate(MAX_BATCH + 65536L + 4096, 8);
        this.view = buffer.asByteBuffer();
        try {
            this.fd = call("socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)", () ->
                    (int) Libc.SOCKET.invokeExact(state, Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_NETFILTER));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
        try {
            MemorySegment address = sockaddr();
            call("bind(AF_NETLINK)", () -> (int) Libc.BIND.invokeExact(state, fd, address, SOCKADDR_NL_SIZE));
            this.receiveBufferGranted = receiveBuffer(options.receiveBuffer());
            MemorySegment timeout = arena.allocate(16, 8);
            timeout.set(ValueLayout.JAVA_LONG, 0, options.pollInterval().toSeconds());
            timeout.set(ValueLayout.JAVA_LONG, 8, options.pollInterval().toMillisPart() * 1000L);
            call("setsockopt(SO_RCVTIMEO)", () -> (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, timeout, 16));
            configure();
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Opens and binds the group in the JVM's own network namespace. Needs CAP_NET_ADMIN. */
    public static NflogSocket open(Options options) throws IOException {
        return new NflogSocket(options);
    }

    /** Opens the socket inside {@code namespace} (e.g. {@link NetworkNamespace#named}); it keeps receiving there. */
    public static NflogSocket openIn(Path namespace, Options options) throws IOException {
        return NetworkNamespace.call(namespace, () -> new NflogSocket(options));
    }

    public Options options() {
        return options;
    }

    /** The receive buffer the kernel granted (it doubles the request, and caps it without CAP_NET_ADMIN). */
    public int receiveBuffer() {
        return receiveBufferGranted;
    }

    /**
     * Waits up to the poll interval for one datagram and returns it (valid until the next call), or null
     * if none came. ENOBUFS (the kernel dropped messages because the receive buffer was full) is counted in
     * {@link #overruns()} and the wait goes on; the numbering of the messages tells how many were lost.
     */
    public ByteBuffer receive() throws IOException {
        if (!early.isEmpty()) {
            return early.poll();
        }
        if (closed) {
            throw new IOException("NFLOG socket of group " + options.group() + " is closed");
        }
        long capacity = buffer.byteSize();
        while (true) {
            long received;
            try {
                received = (long) Libc.RECV.invokeExact(state, fd, buffer, capacity, Libc.MSG_TRUNC);
            } catch (Throwable e) {
                throw Libc.rethrow(e);
            }
            if (received >= 0) {
                if (received > capacity) {
                    // MSG_TRUNC made recv report the real size; the tail is gone and the parser will say so.
                    truncated++;
                    received = capacity;
                }
                return view.clear().limit((int) received);
            }
            int errno = Libc.errno(state);
            if (errno == Libc.ENOBUFS) {
                overruns++;
            } else if (errno == Libc.EAGAIN) {
                return null;
            } else if (errno != Libc.EINTR) {
                throw Libc.failure("recv(NFLOG group " + options.group() + ")", errno);
            }
        }
    }

    /** How many times the kernel reported ENOBUFS: each time, one or more messages were dropped. */
    public long overruns() {
        return overruns;
    }

    /** Datagrams bigger than the buffer (never expected: a batch is at most 128 KiB). */
    public long truncated() {
        return truncated;
    }

    /** Closes the socket, which unbinds the group. Call it from the receiving thread, or after it stopped. */
    @Override
    public void close() {
        if (!closed) {
            closeQuietly();
        }
    }

    private void closeQuietly() {
        closed = true;
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable e) {
            // close(2) of a socket only fails for a bad descriptor, which would be a bug here; nothing to undo.
        }
        arena.close();
    }

    private int receiveBuffer(int bytes) throws IOException {
        MemorySegment value = arena.allocateFrom(ValueLayout.JAVA_INT, bytes);
        int forced;
        try {
            forced = (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, value, 4);
        } catch (Throwable e) {
            throw Libc.rethrow(e);
        }
        if (forced != 0) {
            // Without CAP_NET_ADMIN only SO_RCVBUF works, capped by net.core.rmem_max.
            call("setsockopt(SO_RCVBUF, " + bytes + ")", () ->
                    (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, value, 4));
        }
        MemorySegment length = arena.allocateFrom(ValueLayout.JAVA_INT, 4);
        call("getsockopt(SO_RCVBUF)", () -> (int) Libc.GETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, value, length));
        return value.get(ValueLayout.JAVA_INT, 0);
    }

    /** BIND and every setting in one message, so the group never runs with the kernel's defaults. */
    private void configure() throws IOException {
        int sequence = (int) (Instant.now().toEpochMilli() & 0x7fffffff);
        ByteBuffer message = ByteBuffer.allocate(128).order(ByteOrder.nativeOrder());
        message.putInt(0).putShort((short) (NflogParser.NFNL_SUBSYS_ULOG << 8 | NflogParser.NFULNL_MSG_CONFIG))
                .putShort((short) (NLM_F_REQUEST | NLM_F_ACK)).putInt(sequence).putInt(0);
        message.put((byte) 0).put((byte) 0).order(ByteOrder.BIG_ENDIAN).putShort((short) options.group()); // nfgenmsg: AF_UNSPEC, v0, group
        attribute(message, NFULA_CFG_CMD, 1).put((byte) NFULNL_CFG_CMD_BIND);
        attribute(message, NFULA_CFG_MODE, 6).putInt(options.copyRange()).put((byte) NFULNL_COPY_PACKET).put((byte) 0);
        attribute(message, NFULA_CFG_NLBUFSIZ, 4).putInt(options.batchBytes());
        attribute(message, NFULA_CFG_TIMEOUT, 4).putInt((int) (options.flushTimeout().toMillis() / 10));
        attribute(message, NFULA_CFG_QTHRESH, 4).putInt(options.queueThreshold());
        attribute(message, NFULA_CFG_FLAGS, 2).putShort((short) NFULNL_CFG_F_SEQ);
        align(message);
        int length = message.position();
        message.order(ByteOrder.nativeOrder()).putInt(0, length);

        MemorySegment request = arena.allocate(length, 8);
        MemorySegment.copy(message.array(), 0, request, ValueLayout.JAVA_BYTE, 0, length);
        MemorySegment kernel = sockaddr();
        long sent;
        try {
            sent = (long) Libc.SENDTO.invokeExact(state, fd, request, (long) length, 0, kernel, SOCKADDR_NL_SIZE);
        } catch (Throwable e) {
            throw Libc.rethrow(e);
        }
        if (sent != length) {
            throw Libc.failure("sendto(NFULNL_MSG_CONFIG for group " + options.group() + ")", Libc.errno(state));
        }
        awaitAck(sequence);
    }

    private void awaitAck(int sequence) throws IOException {
        Instant deadline = Instant.now().plusSeconds(5);
        int[] errno = {Integer.MIN_VALUE};
        while (errno[0] == Integer.MIN_VALUE) {
            if (Instant.now().isAfter(deadline)) {
                throw new IOException("the kernel did not acknowledge the configuration of NFLOG group " + options.group() + " within 5 s");
            }
            ByteBuffer datagram = receive();
            if (datagram == null) {
                continue;
            }
            boolean[] packets = {false};
            try {
                NflogParser.parse(datagram, Instant.now(), new NflogParser.Sink() {
                    @Override
                    public void packet(LoggedPacket packet) {
                        packets[0] = true;
                    }

                    @Override
                    public void error(int code, int seq) {
                        if (seq == sequence) {
                            errno[0] = code;
                        }
                    }
                });
            } catch (NflogFormatException e) {
                packets[0] = true; // not ours to judge here: the reader will count it
            }
            if (packets[0]) {
                // A rule logged before the ack came back: keep the datagram for the reader, lose nothing.
                ByteBuffer copy = ByteBuffer.allocate(datagram.remaining());
                early.add(copy.put(datagram.duplicate()).flip());
            }
        }
        if (errno[0] == Libc.EPERM || errno[0] == Libc.EBUSY) {
            // nfnetlink_log answers EPERM both to a second socket binding a group and to a missing capability.
            throw new IOException("NFLOG group " + options.group() + ": the kernel refused the binding (" + Libc.strerror(errno[0])
                    + "): another socket has bound the group, or this process lacks CAP_NET_ADMIN");
        }
        if (errno[0] != 0) {
            throw Libc.failure("binding NFLOG group " + options.group(), errno[0]);
        }
    }

    private static ByteBuffer attribute(ByteBuffer message, int type, int valueLength) {
        align(message);
        message.order(ByteOrder.nativeOrder()).putShort((short) (NflogParser.NLA_HDRLEN + valueLength)).putShort((short) type);
        return message.order(ByteOrder.BIG_ENDIAN); // nfnetlink_log reads its values in network byte order
    }

    private static void align(ByteBuffer message) {
        while (message.position() % 4 != 0) {
            message.put((byte) 0);
        }
    }

    private MemorySegment sockaddr() {
        MemorySegment address = arena.allocate(SOCKADDR_NL_SIZE, 4); // nl_family, nl_pad, nl_pid 0 (the kernel), nl_groups 0
        address.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_NETLINK);
        return address;
    }

    @FunctionalInterface
    private interface NativeCall {
        int invoke() throws Throwable;
    }

    private int call(String what, NativeCall call) throws IOException {
        int result;
        try {
            result = call.invoke();
        } catch (Throwable e) {
            throw Libc.rethrow(e);
        }
        if (result < 0) {
            int errno = Libc.errno(state);
            throw Libc.failure(what, errno);
        }
        return result;
    }
}
