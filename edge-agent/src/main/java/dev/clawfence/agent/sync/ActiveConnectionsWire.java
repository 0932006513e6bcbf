package dev.clawfence.agent.sync;

import dev.clawfence.agent.connections.ConnectionTable;
import dev.clawfence.agent.connections.HostConnection;
import dev.clawfence.policy.Direction;
import dev.clawfence.proto.agent.v1.ActiveConnection;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.PortCount;
import com.google.protobuf.ByteString;

/** A {@link ConnectionTable} as the {@code ActiveConnections} message: a summary, or the list for a request. */
final class ActiveConnectionsWire {

    /** The most connections one answer carries, whatever the request asks (keeps the message far below gRPC limits). */
    static final int MAX_LISTED = 10_000;
    static final int TOP_PORTS = 20;
    private static final int TCP = 6;

    private ActiveConnectionsWire() {}

    /** The periodic summary: totals and busiest ports, no list. */
    static ActiveConnections summary(ConnectionTable table) {
        return base(table, 0).build();
    }

    /** The answer to request {@code requestId}: the first {@code limit} connections (capped), plus the summary. */
    static ActiveConnections answer(ConnectionTable table, long requestId, int limit) {
        int listed = Math.min(Math.min(limit <= 0 ? MAX_LISTED : limit, MAX_LISTED), table.connections().size());
        ActiveConnections.Builder message = base(table, requestId).setTruncated(listed < table.connections().size());
        for (HostConnection connection : table.connections().subList(0, listed)) {
            message.addConnections(ActiveConnection.newBuilder()
                    .setDirection(direction(connection.direction()))
                    .setIpProtocol(TCP)
                    .setLocalAddress(ByteString.copyFrom(connection.localAddress().getAddress()))
                    .setLocalPort(connection.localPort())
                    .setRemoteAddress(ByteString.copyFrom(connection.remoteAddress().getAddress()))
                    .setRemotePort(connection.remotePort()));
        }
        return message.build();
    }

    private static ActiveConnections.Builder base(ConnectionTable table, long requestId) {
        ActiveConnections.Builder message = ActiveConnections.newBuilder()
                .setRequestId(requestId)
                .setTakenEpochMillis(table.takenAt().toEpochMilli())
                .setInboundTotal(table.total(Direction.INBOUND))
                .setOutboundTotal(table.total(Direction.OUTBOUND));
        for (ConnectionTable.PortCount top : table.topPorts(TOP_PORTS)) {
            message.addTopPorts(PortCount.newBuilder().setDirection(direction(top.direction())).setIpProtocol(TCP)
                    .setPort(top.port()).setConnections(top.connections()));
        }
        return message;
    }

    private static dev.clawfence.proto.agent.v1.Direction direction(Direction direction) {
        return direction == Direction.INBOUND ? dev.clawfence.proto.agent.v1.Direction.DIRECTION_INBOUND
                : dev.clawfence.proto.agent.v1.Direction.DIRECTION_OUTBOUND;
    }
}
