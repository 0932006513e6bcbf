package dev.clawfence.controlplane.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.clawfence.controlplane.ClawfenceConfiguration;
import io.micronaut.context.annotation.Context;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's PostgreSQL, migrated and ready when this bean exists: starts the embedded server
 * when no URL is configured, runs Flyway as the owner role, and opens the application pool as the
 * row-level-security-bound app role. All tenant data access goes through {@link #inTenant}.
 */
@Context
public final class Database implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private final EmbeddedPostgres embedded;
    private final HikariDataSource owner;
    private final HikariDataSource app;
    private final DSLContext appDsl;
    private final DSLContext ownerDsl;
    private final String description;
    private final String url;
    private final String appUser;
    private final String appPassword;

    public Database(DatabaseConfiguration config, ClawfenceConfiguration clawfence) {
        String url;
        String ownerUser;
        String ownerPassword;
        String appPassword;
        if (config.embedded()) {
            Path dataDir = clawfence.dataPath();
            embedded = startEmbedded(dataDir.resolve("postgres"), config.sharedBuffers());
            // A URL without user parameters: it serves both roles, and a ?user= would override the app role.
            url = "jdbc:postgresql://localhost:" + embedded.getPort() + "/postgres";
            ownerUser = "postgres";
            ownerPassword = "postgres";
            appPassword = readOrCreateSecret(dataDir.resolve("app-role.password"));
            description = "embedded PostgreSQL in " + dataDir.resolve("postgres");
        } else {
            embedded = null;
            url = config.url();
            ownerUser = config.user();
            ownerPassword = config.password();
            appPassword = config.appPassword();
            description = "PostgreSQL at " + url.replaceAll("\\?.*", "");
        }
        owner = pool(url, ownerUser, ownerPassword, 4, "clawfence-owner");
        try {
            Flyway.configure()
                    .dataSource(owner)
                    .locations("classpath:db/migration")
                    .placeholders(Map.of("appRole", config.appRole()))
                    .load()
                    .migrate();
            if (embedded != null) {
                // The migrations create the app role without LOGIN; in embedded mode we own the server,
                // so we let it log in with the password kept in the data directory.
                try (Connection c = owner.getConnection(); Statement s = c.createStatement()) {
                    s.execute("alter role " + config.appRole() + " login password '" + appPassword + "'");
                }
            }
        } catch (SQLException | RuntimeException e) {
            // Stop what we started (the embedded server, the owner pool) before giving up.
            close();
            throw new IllegalStateException("cannot migrate the database or prepare the role " + config.appRole(), e);
        }
        app = pool(url, config.appRole(), appPassword, config.pool(), "clawfence-app");
        this.url = url;
        this.appUser = config.appRole();
        this.appPassword = appPassword;
        appDsl = DSL.using(app, SQLDialect.POSTGRES);
        ownerDsl = DSL.using(owner, SQLDialect.POSTGRES);
        LOG.info("Database ready: {}", description);
    }

    /**
     * Runs {@code work} in one transaction of the app role whose row-level-security context is
     * {@code tenant}; the context is transaction-local, so the pooled connection carries nothing into
     * the next request.
     */
    public <T> T inTenant(UUID tenant, Function<DSLContext, T> work) {
        return appDsl.transactionResult(configuration -> {
            DSLContext tx = DSL.using(configuration);
            tx.select(DSL.field("set_config('clawfence.tenant_id', {0}, true)", String.class, tenant.toString()))
                    .fetch();
            return work.apply(tx);
        });
    }

    /** Runs {@code work} in one transaction of the app role with no tenant context: tenant tables show no rows. */
    public <T> T withoutTenant(Function<DSLContext, T> work) {
        return appDsl.transactionResult(configuration -> work.apply(DSL.using(configuration)));
    }

    /** The owner role, for bootstrap work on tables the app role may not touch (platform admin tokens). */
    public <T> T asOwner(Function<DSLContext, T> work) {
        return ownerDsl.transactionResult(configuration -> work.apply(DSL.using(configuration)));
    }

    /**
     * A new connection of the app role outside the pool, for a long-lived {@code LISTEN}; the caller
     * closes it.
     */
    public Connection openDedicatedConnection() throws SQLException {
        Connection connection = java.sql.DriverManager.getConnection(url, appUser, appPassword);
        connection.setAutoCommit(true);
        return connection;
    }

    /** Where the data lives, for people. */
    public String description() {
        return description;
    }

    /** Answers whether the app role can reach the migrated schema. */
    public boolean isReady() {
        try {
            return withoutTenant(tx -> tx.fetchValue("select 1")) != null;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @PreDestroy
    @Override
    public void close() {
        if (app != null) {
            app.close();
        }
        if (owner != null) {
            owner.close();
        }
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                LOG.warn("Embedded PostgreSQL did not stop cleanly", e);
            }
        }
    }

    private static EmbeddedPostgres startEmbedded(Path pgData, String sharedBuffers) {
        try {
            Files.createDirectories(pgData.getParent());
            OrphanedPostmaster.stopIfAny(pgData);
            return ServerSettings.apply(EmbeddedPostgres.builder(), ServerSettings.tuned(sharedBuffers))
                    .setDataDirectory(pgData)
                    .setCleanDataDirectory(false)
                    // close() stops it after the beans that still write (the agent gateway flushes what its
                    // streams reported); zonky's own hook would stop it at once, under them.
                    .setRegisterShutdownHook(false)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start embedded PostgreSQL in " + pgData, e);
        }
    }

    private static HikariDataSource pool(String url, String user, String password, int size, String name) {
        HikariConfig hikari = new HikariConfig();
        hikari.setJdbcUrl(url);
        hikari.setUsername(user);
        hikari.setPassword(password);
        hikari.setMaximumPoolSize(size);
        hikari.setPoolName(name);
        hikari.setAutoCommit(true);
        return new HikariDataSource(hikari);
    }

    /** Reads a secret file, or creates it readable by this user only; the secret is base64url, safe in SQL. */
    private static String readOrCreateSecret(Path file) {
        try {
            if (Files.exists(file)) {
                return Files.readString(file).strip();
            }
            byte[] bytes = new byte[24];
            new SecureRandom().nextBytes(bytes);
            String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, secret);
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the app role password in " + file, e);
        }
    }
}
