import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Jdbc;
import org.jooq.meta.jaxb.Logging;
import org.jooq.meta.jaxb.Target;

/**
 * Build step: generates the jOOQ classes of the control plane from its Flyway migrations applied to a
 * throw-away embedded PostgreSQL (H2's DDL emulation cannot read this schema). Arguments: the
 * migrations directory, the output directory and this file. Does nothing when the migrations and this file are
 * unchanged since the last run (a stamp file in the output directory holds their hash).
 */
public class JooqCodegen {

    private static final String PACKAGE = "dev.clawfence.controlplane.database.jooq";

    public static void main(String[] args) throws Exception {
        Path migrations = Path.of(args[0]);
        Path output = Path.of(args[1]);
        Path stamp = output.resolve(".migrations.sha256");
        String hash = hashOf(migrations, Path.of(args[2]));
        if (Files.exists(stamp) && Files.readString(stamp).equals(hash)) {
            System.out.println("jOOQ code is up to date with the migrations");
            return;
        }
        deleteRecursively(output);
        try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
            String url = postgres.getJdbcUrl("postgres", "postgres");
            Flyway.configure()
                    .dataSource(url, "postgres", "postgres")
                    .locations("filesystem:" + migrations.toAbsolutePath())
                    .placeholders(java.util.Map.of("appRole", "clawfence_app"))
                    .load()
                    .migrate();
            GenerationTool.generate(new Configuration()
                    .withLogging(Logging.WARN)
                    .withJdbc(new Jdbc().withDriver("org.postgresql.Driver").withUrl(url)
                            .withUser("postgres").withPassword("postgres"))
                    .withGenerator(new Generator()
                            .withDatabase(new Database()
                                    .withName("org.jooq.meta.postgres.PostgresDatabase")
                                    .withInputSchema("public")
                                    .withOutputSchemaToDefault(true)
                                    .withExcludes("flyway_schema_history"))
                            .withGenerate(new Generate().withRecords(true).withJavaTimeTypes(true)
                                    .withGeneratedAnnotation(false))
                            .withTarget(new Target().withPackageName(PACKAGE)
                                    .withDirectory(output.toAbsolutePath().toString()))));
        }
        Files.writeString(stamp, hash);
    }

    private static String hashOf(Path migrations, Path generator) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> list = Files.list(migrations)) {
            files = list.sorted().toList();
        }
        for (Path file : files) {
            digest.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            digest.update(Files.readAllBytes(file));
        }
        // A change to this generator must regenerate too.
        digest.update(Files.readAllBytes(generator));
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        Files.createDirectories(dir);
    }
}
