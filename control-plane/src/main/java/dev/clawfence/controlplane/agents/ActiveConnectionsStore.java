package dev.clawfence.controlplane.agents;

import static dev.clawfence.controlplane.database.jooq.Tables.INSTANCES;
import static dev.clawfence.controlplane.database.jooq.Tables.INSTANCE_CONNECTIONS;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.net.InetAddresses;
import dev.clawfence.controlplane.api.ApiProblem;
import dev.clawfence.controlplane.tenancy.TenantTransaction;
import dev.clawfence.proto.agent.v1.ActiveConnection;
import dev.clawfence.proto.agent.v1.ActiveConnections;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.PortCount;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/**
 * The active connections agents report: their periodic summaries and the lists they send on request,
 * kept per instance (the newest of each), and the requests themselves, announced on
 * {@value #REQUEST_CHANNEL} so that the replica holding the instance's Sync stream passes them on.
 */
@Singleton
public final class ActiveConnectionsStore {

    /** Payload {@code <tenant>:<instance>:<request id>:<limit>}. */
    public static final String REQUEST_CHANNEL = "clawfence_connections_request";
    /** The most connections an agent lists (ActiveConnectionsRequest.limit is capped there too). */
    public static final int MAX_LIST = 10_000;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One connection as the tenant sees it. */
    public record ConnectionView(String direction, String protocol, String localAddress, int localPort,
            String remoteAddress, int remotePort) {}

    /** How many connections use one service port (inbound: the local port; outbound: the remote one). */
    public record PortView(String direction, String protocol, int port, int connections) {}

    /** What is stored for an instance; the list parts are null until an agent answered a request. */
    public record Stored(OffsetDateTime takenAt, int inboundTotal, int outboundTotal, List<PortView> topPorts,
            Long listRequestId, OffsetDateTime listTakenAt, Boolean listTruncated, List<ConnectionView> list) {}

    /** A report that does not make sense, naming the field. */
    public static final class InvalidReportException extends Exception {
        InvalidReportException(String message) {
            super(message);
        }
    }

    /** Stores {@code report} of {@code instance}: always its summary, and its list when it answers a request. */
    public void record(TenantTransaction tx, UUID instance, ActiveConnections report) throws InvalidReportException {
        List<PortView> top = new ArrayList<>();
        for (int i = 0; i < report.getTopPortsCount(); i++) {
            top.add(port(report.getTopPorts(i), "active_connections.top_ports[" + i + "]"));
        }
        if (report.getTakenEpochMillis() <= 0) {
            throw new InvalidReportException("active_connections.taken_epoch_millis must be a time after 1970, not " + report.getTakenEpochMillis());
        }
        if (report.getConnectionsCount() > MAX_LIST) {
            throw new InvalidReportException("active_connections.connections holds " + report.getConnectionsCount()
                    + " entries; at most " + MAX_LIST + " are accepted");
        }
        OffsetDateTime taken = Instant.ofEpochMilli(report.getTakenEpochMillis()).atOffset(ZoneOffset.UTC);
        var insert = tx.sql().insertInto(INSTANCE_CONNECTIONS)
                .set(INSTANCE_CONNECTIONS.INSTANCE_ID, instance)
                .set(INSTANCE_CONNECTIONS.TENANT_ID, tx.tenantId())
                .set(INSTANCE_CONNECTIONS.TAKEN_AT, taken)
                .set(INSTANCE_CONNECTIONS.INBOUND_TOTAL, report.getInboundTotal())
                .set(INSTANCE_CONNECTIONS.OUTBOUND_TOTAL, report.getOutboundTotal())
                .set(INSTANCE_CONNECTIONS.TOP_PORTS, json(top));
        if (report.getRequestId() != 0) {
            List<ConnectionView> list = new ArrayList<>();
            for (int i = 0; i < report.getConnectionsCount(); i++) {
                list.add(connection(report.getConnections(i), "active_connections.connections[" + i + "]"));
            }
            insert = insert.set(INSTANCE_CONNECTIONS.LIST_REQUEST_ID, report.getRequestId())
                    .set(INSTANCE_CONNECTIONS.LIST_TAKEN_AT, taken)
                    .set(INSTANCE_CONNECTIONS.LIST_TRUNCATED, report.getTruncated())
                    .set(INSTANCE_CONNECTIONS.LIST, json(list));
        }
        // A summary read before the stored one (reports of one stream arrive in order, but two streams of
        // one instance may overlap across a reconnect) must not replace it.
        insert.onConflict(INSTANCE_CONNECTIONS.INSTANCE_ID).doUpdate()
                .set(INSTANCE_CONNECTIONS.TAKEN_AT, DSL.greatest(INSTANCE_CONNECTIONS.TAKEN_AT, DSL.excluded(INSTANCE_CONNECTIONS.TAKEN_AT)))
                .set(INSTANCE_CONNECTIONS.INBOUND_TOTAL, newer(INSTANCE_CONNECTIONS.INBOUND_TOTAL))
                .set(INSTANCE_CONNECTIONS.OUTBOUND_TOTAL, newer(INSTANCE_CONNECTIONS.OUTBOUND_TOTAL))
                .set(INSTANCE_CONNECTIONS.TOP_PORTS, newer(INSTANCE_CONNECTIONS.TOP_PORTS))
                .set(INSTANCE_CONNECTIONS.LIST_REQUEST_ID, DSL.coalesce(DSL.excluded(INSTANCE_CONNECTIONS.LIST_REQUEST_ID), INSTANCE_CONNECTIONS.LIST_REQUEST_ID))
                .set(INSTANCE_CONNECTIONS.LIST_TAKEN_AT, DSL.coalesce(DSL.excluded(INSTANCE_CONNECTIONS.LIST_TAKEN_AT), INSTANCE_CONNECTIONS.LIST_TAKEN_AT))
                .set(INSTANCE_CONNECTIONS.LIST_TRUNCATED, DSL.coalesce(DSL.excluded(INSTANCE_CONNECTIONS.LIST_TRUNCATED), INSTANCE_CONNECTIONS.LIST_TRUNCATED))
                .set(INSTANCE_CONNECTIONS.LIST, DSL.coalesce(DSL.excluded(INSTANCE_CONNECTIONS.LIST), INSTANCE_CONNECTIONS.LIST))
                .set(INSTANCE_CONNECTIONS.RECEIVED_AT, OffsetDateTime.now())
                .execute();
    }

    /** The excluded (new) value when the new report is at least as recent as the stored one. */
    private static <T> org.jooq.Field<T> newer(org.jooq.TableField<?, T> field) {
        return DSL.when(DSL.excluded(INSTANCE_CONNECTIONS.TAKEN_AT).ge(INSTANCE_CONNECTIONS.TAKEN_AT), DSL.excluded(field))
                .otherwise(field);
    }

    /**
     * Asks the agent of {@code instance} for its list: announced on commit to every replica, and the one
     * holding the stream passes it on. 404 when the tenant has no such instance.
     */
    public Request request(TenantTransaction tx, UUID instance, long requestId, int limit) {
        var row = tx.sql().select(INSTANCES.CONNECTED_SINCE, INSTANCES.REVOKED_AT).from(INSTANCES)
                .where(INSTANCES.ID.eq(instance).and(INSTANCES.TENANT_ID.eq(tx.tenantId())))
                .fetchOptional()
                .orElseThrow(() -> ApiProblem.notFound("There is no instance " + instance + " in this tenant."));
        boolean connected = row.value1() != null && row.value2() == null;
        if (connected) {
            tx.sql().select(DSL.field("pg_notify({0}, {1})", String.class, REQUEST_CHANNEL,
                    tx.tenantId() + ":" + instance + ":" + requestId + ":" + limit)).fetch();
        }
        return new Request(connected, stored(tx, instance));
    }

    /** The last report, without asking the agent; 404 when the tenant has no such instance. */
    public Request lastReport(TenantTransaction tx, UUID instance) {
        if (!tx.sql().fetchExists(INSTANCES, INSTANCES.ID.eq(instance).and(INSTANCES.TENANT_ID.eq(tx.tenantId())))) {
            throw ApiProblem.notFound("There is no instance " + instance + " in this tenant.");
        }
        return new Request(false, stored(tx, instance));
    }

    /** Whether the instance was connected when asked (so a request went out), and what was stored then. */
    public record Request(boolean sent, Optional<Stored> before) {}

    public Optional<Stored> stored(TenantTransaction tx, UUID instance) {
        return tx.sql().selectFrom(INSTANCE_CONNECTIONS)
                .where(INSTANCE_CONNECTIONS.INSTANCE_ID.eq(instance).and(INSTANCE_CONNECTIONS.TENANT_ID.eq(tx.tenantId())))
                .fetchOptional(r -> new Stored(r.getTakenAt(), r.getInboundTotal(), r.getOutboundTotal(),
                        read(r.getTopPorts(), new TypeReference<List<PortView>>() {}), r.getListRequestId(), r.getListTakenAt(),
                        r.getListTruncated(), r.getList() == null ? null : read(r.getList(), new TypeReference<List<ConnectionView>>() {})));
    }

    private static PortView port(PortCount count, String path) throws InvalidReportException {
        return new PortView(direction(count.getDirection(), path + ".direction"), protocol(count.getIpProtocol()),
                port(count.getPort(), path + ".port"), count.getConnections());
    }

    private static ConnectionView connection(ActiveConnection c, String path) throws InvalidReportException {
        String local = address(c.getLocalAddress().toByteArray(), path + ".local_address");
        String remote = address(c.getRemoteAddress().toByteArray(), path + ".remote_address");
        if (c.getLocalAddress().size() != c.getRemoteAddress().size()) {
            throw new InvalidReportException(path + ": local and remote address are of different families");
        }
        return new ConnectionView(direction(c.getDirection(), path + ".direction"), protocol(c.getIpProtocol()),
                local, port(c.getLocalPort(), path + ".local_port"), remote, port(c.getRemotePort(), path + ".remote_port"));
    }

    private static String direction(Direction direction, String path) throws InvalidReportException {
        return switch (direction) {
            case DIRECTION_INBOUND -> "inbound";
            case DIRECTION_OUTBOUND -> "outbound";
            default -> throw new InvalidReportException(path + " must be inbound or outbound, not " + direction);
        };
    }

    private static String protocol(int number) {
        return switch (number) {
            case 6 -> "tcp";
            case 17 -> "udp";
            default -> String.valueOf(number);
        };
    }

    private static int port(int port, String path) throws InvalidReportException {
        if (port < 0 || port > 65_535) {
            throw new InvalidReportException(path + " must be 0-65535, not " + Integer.toUnsignedString(port));
        }
        return port;
    }

    private static String address(byte[] bytes, String path) throws InvalidReportException {
        if (bytes.length != 4 && bytes.length != 16) {
            throw new InvalidReportException(path + ": " + bytes.length + " bytes is not an address (4 bytes for IPv4, 16 for IPv6)");
        }
        try {
            // RFC 5952 text (2001:db8::7), as PostgreSQL prints inet; the JDK would print every zero group.
            return InetAddresses.toAddrString(InetAddress.getByAddress(bytes));
        } catch (UnknownHostException e) {
            throw new InvalidReportException(path + ": " + e.getMessage());
        }
    }

    private static JSONB json(Object value) {
        try {
            return JSONB.valueOf(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> T read(JSONB json, TypeReference<T> type) {
        try {
            return JSON.readValue(json.data(), type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored connections do not read: " + e.getMessage(), e);
        }
    }
}
