package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.database.Database;
import dev.clawfence.controlplane.policy.PolicyVersions;
import io.grpc.Status;
import jakarta.annotation.PreDestroy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's PostgreSQL listener: one dedicated connection, {@code LISTEN}ing on
 * {@value PolicyVersions#POLICY_CHANNEL} (a version committed: push it to the tenant's streams here) and
 * {@value Instances#REVOKED_CHANNEL} (an instance was revoked: close its streams here) and
 * {@value ActiveConnectionsStore#REQUEST_CHANNEL} (someone asks an instance for its connections: pass it
 * on if its stream is here), so that a change
 * made on any replica reaches agents held by every other. It runs on a daemon thread and reconnects
 * after a failure, then pushes every tenant's current version in case it missed a notification.
 */
final class PolicyNotifications implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyNotifications.class);
    private static final int POLL_MILLIS = 500;

    private final Database database;
    private final PolicyDistribution distribution;
    private final AgentStreams streams;
    private final Thread thread;
    private final CountDownLatch listening = new CountDownLatch(1);
    private volatile boolean running = true;

    PolicyNotifications(Database database, PolicyDistribution distribution, AgentStreams streams) {
        this.database = database;
        this.distribution = distribution;
        this.streams = streams;
        this.thread = Thread.ofPlatform().daemon().name("clawfence-policy-listener").start(this::run);
    }

    /** Waits until the first LISTEN is in place, so nothing committed after startup is missed. */
    boolean awaitListening(long timeout, TimeUnit unit) throws InterruptedException {
        return listening.await(timeout, unit);
    }

    private void run() {
        boolean missed = false;
        long backoff = 100;
        while (running) {
            try (Connection connection = database.openDedicatedConnection()) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("listen " + PolicyVersions.POLICY_CHANNEL);
                    statement.execute("listen " + Instances.REVOKED_CHANNEL);
                    statement.execute("listen " + ActiveConnectionsStore.REQUEST_CHANNEL);
                }
                listening.countDown();
                backoff = 100;
                if (missed) {
                    Thread.ofVirtual().start(distribution::pushAll);
                }
                PGConnection pg = connection.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] notifications = pg.getNotifications(POLL_MILLIS);
                    if (notifications != null) {
                        for (PGNotification notification : notifications) {
                            dispatch(notification.getName(), notification.getParameter());
                        }
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                missed = true;
                LOG.warn("Policy listener lost its database connection ({}); reconnecting in {} ms", e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    return;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private void dispatch(String channel, String payload) {
        String[] parts = payload.split(":", 2);
        UUID tenant;
        try {
            tenant = UUID.fromString(parts[0]);
        } catch (IllegalArgumentException e) {
            LOG.warn("Ignoring notification {} with payload {}", channel, payload);
            return;
        }
        if (PolicyVersions.POLICY_CHANNEL.equals(channel)) {
            if (!streams.of(tenant).isEmpty()) {
                Thread.ofVirtual().start(() -> distribution.push(tenant));
            }
        } else if (ActiveConnectionsStore.REQUEST_CHANNEL.equals(channel)) {
            requestConnections(tenant, parts.length == 2 ? parts[1] : "", payload);
        } else if (Instances.REVOKED_CHANNEL.equals(channel) && parts.length == 2) {
            try {
                streams.close(tenant, UUID.fromString(parts[1]), REVOKED);
            } catch (IllegalArgumentException e) {
                LOG.warn("Ignoring notification {} with payload {}", channel, payload);
            }
        }
    }

    /** Passes a connections request ({@code <instance>:<request id>:<limit>}) to the instance's streams here, if any. */
    private void requestConnections(UUID tenant, String rest, String payload) {
        String[] parts = rest.split(":");
        try {
            UUID instance = UUID.fromString(parts[0]);
            long requestId = Long.parseLong(parts[1]);
            int limit = Integer.parseInt(parts[2]);
            streams.of(tenant).stream().filter(s -> s.identity().instanceId().equals(instance))
                    .forEach(s -> s.requestConnections(requestId, limit));
        } catch (RuntimeException e) {
            LOG.warn("Ignoring notification {} with payload {}", ActiveConnectionsStore.REQUEST_CHANNEL, payload);
        }
    }

    static final Status REVOKED = Status.PERMISSION_DENIED.withDescription(
            "this instance has been revoked; enrol the host again with a new token");

    @PreDestroy
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
