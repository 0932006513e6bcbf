package dev.clawfence.controlplane.events;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/** Tiny builders for event batches in tests, and the instances they come from. */
final class Events {

    private Events() {}

    /** A new instance row of {@code tenant} (written as the owner, as enrolment would), for events to name. */
    static UUID instance(UUID tenant) {
        UUID id = UUID.randomUUID();
        try (Connection c = TestServer.get().ownerConnection();
                PreparedStatement s = c.prepareStatement("insert into instances (id, tenant_id, hostname) values (?, ?, 'host')")) {
            s.setObject(1, id);
            s.setObject(2, tenant);
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return id;
    }

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
