package dev.clawfence.controlplane.events;

import com.google.protobuf.ByteString;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Tiny builders for event batches in tests. */
final class Events {

    private Events() {}

    /** A blocked inbound TCP attempt from 203.0.113.{seq % 256} to 192.0.2.10:443 at {@code time}. */
    static ConnectionEvent.Builder event(long sequence, Instant time) {
        return ConnectionEvent.newBuilder()
                .setSequence(sequence)
                .setTimeEpochMicros(ChronoUnit.MICROS.between(Instant.EPOCH, time))
                .setDirection(Direction.DIRECTION_INBOUND)
                .setVerdict(Verdict.VERDICT_BLOCKED)
                .setIpProtocol(6)
                .setSourceAddress(address("203.0.113." + (sequence % 256)))
                .setSourcePort(40000)
                .setDestinationAddress(address("192.0.2.10"))
                .setDestinationPort(443)
                .setRuleId("")
                .setReason("not-allowlisted")
                .setInterface("eth0");
    }

    /** Events {@code first..last} a second apart, the last a minute ago. */
    static EventBatch batch(long first, long last) {
        Instant end = Instant.now().minusSeconds(60);
        EventBatch.Builder batch = EventBatch.newBuilder();
        for (long seq = first; seq <= last; seq++) {
            batch.addEvents(event(seq, end.minusSeconds(last - seq)));
        }
        return batch.build();
    }

    static ByteString address(String text) {
        try {
            return ByteString.copyFrom(InetAddress.getByName(text).getAddress());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
