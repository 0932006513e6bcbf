package dev.clawfence.agent.connections;

import dev.clawfence.policy.Direction;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The host's established connections at one moment, inbound first, each direction by service port. */
public record ConnectionTable(Instant takenAt, List<HostConnection> connections) {

    /** Where tables come from: {@link ProcNetTcp} on a host, anything in a test. */
    @FunctionalInterface
    public interface Source {
        ConnectionTable read() throws java.io.IOException;
    }

    /** How many connections of a direction use one service port (see {@link HostConnection#servicePort}). */
    public record PortCount(Direction direction, int port, int connections) {}

    public ConnectionTable {
        connections = connections.stream()
                .sorted(Comparator.comparing(HostConnection::direction).thenComparingInt(HostConnection::servicePort))
                .toList();
    }

    public int total(Direction direction) {
        return (int) connections.stream().filter(c -> c.direction() == direction).count();
    }

    /** The busiest service ports, most connections first (ties: inbound first, then lower port). */
    public List<PortCount> topPorts(int limit) {
        Map<PortCount, Integer> counts = new HashMap<>();
        for (HostConnection connection : connections) {
            counts.merge(new PortCount(connection.direction(), connection.servicePort(), 0), 1, Integer::sum);
        }
        return counts.entrySet().stream()
                .map(e -> new PortCount(e.getKey().direction(), e.getKey().port(), e.getValue()))
                .sorted(Comparator.comparingInt(PortCount::connections).reversed()
                        .thenComparing(PortCount::direction).thenComparingInt(PortCount::port))
                .limit(limit)
                .toList();
    }
}
