package dev.clawfence.controlplane.support;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/**
 * One embedded PostgreSQL and one control plane on a random port for the whole test JVM, started on
 * first use: tests isolate themselves by creating fresh tenants, so they can share both.
 */
public final class TestServer {

    public static final String ADMIN_TOKEN = "cf_test-admin-token-for-the-shared-test-server";
    public static final String APP_PASSWORD = "app-test-password";

    private static TestServer instance;

    private final EmbeddedPostgres postgres;
    private final EmbeddedServer server;
    private final Api admin;

    private TestServer() {
        try {
            postgres = EmbeddedPostgres.builder().start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // In external-database mode the operator creates the app role; here the test plays operator.
        try (Connection c = DriverManager.getConnection(ownerUrl(), "postgres", "postgres");
                Statement s = c.createStatement()) {
            s.execute("create role clawfence_app login nosuperuser nobypassrls password '" + APP_PASSWORD + "'");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        server = ApplicationContext.run(EmbeddedServer.class, properties());
        admin = new Api(URI.create("http://localhost:" + server.getPort()), ADMIN_TOKEN);
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    }

    /** The shared server, started on first call. */
    public static synchronized TestServer get() {
        if (instance == null) {
            instance = new TestServer();
        }
        return instance;
    }

    public Map<String, Object> properties() {
        Map<String, Object> props = new HashMap<>();
        props.put("micronaut.server.port", -1);
        props.put("grpc.server.port", freePort());
        props.put("clawfence.agent-gateway.port", 0);
        props.put("clawfence.admin-token", ADMIN_TOKEN);
        props.put("clawfence.database.url", ownerUrl());
        props.put("clawfence.database.user", "postgres");
        props.put("clawfence.database.password", "postgres");
        props.put("clawfence.database.app-user", "clawfence_app");
        props.put("clawfence.database.app-password", APP_PASSWORD);
        // The live event stream's keep-alive comment, short enough for a test to see one.
        props.put("clawfence.events.stream-heartbeat", "1s");
        props.put("clawfence.events.stream-recheck", "1s");
        return props;
    }

    /** A free local port for the gRPC server, which (unlike HTTP) takes no "-1 = random" setting. */
    public static int freePort() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String ownerUrl() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    /** A JDBC connection as the application role, outside the service. */
    public Connection appConnection() throws SQLException {
        return DriverManager.getConnection(ownerUrl(), "clawfence_app", APP_PASSWORD);
    }

    public Connection ownerConnection() throws SQLException {
        return DriverManager.getConnection(ownerUrl(), "postgres", "postgres");
    }

    public ApplicationContext context() {
        return server.getApplicationContext();
    }

    public URI uri() {
        return URI.create("http://localhost:" + server.getPort());
    }

    /** A client holding the platform admin token. */
    public Api admin() {
        return admin;
    }

    private void stop() {
        server.getApplicationContext().close();
        try {
            postgres.close();
        } catch (IOException e) {
            // the JVM is ending; nothing to do
        }
    }
}
