package dev.clawfence.agent.connections;

import dev.clawfence.policy.Direction;
import java.net.InetAddress;

/** One established TCP connection of the host. */
public record HostConnection(Direction direction, InetAddress localAddress, int localPort, InetAddress remoteAddress,
        int remotePort) {

    /** The port that names the service: the local one of an inbound connection, the remote one of an outbound. */
    public int servicePort() {
        return direction == Direction.INBOUND ? localPort : remotePort;
    }
}
