package fr.hdsvault.api.index;

import java.sql.Connection;
import java.sql.DriverManager;
import java.util.UUID;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/** Fresh, migrated index databases for tests: in-memory H2, and a new schema in the local PostgreSQL. */
public final class IndexDatabases {

    public static final String POSTGRES_URL = "jdbc:postgresql://127.0.0.1:5432/test";
    public static final String POSTGRES_USER = "postgres";

    private IndexDatabases() {
    }

    public static DataSource h2() {
        DriverManagerDataSource ds = new DriverManagerDataSource(
                "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "");
        migrate(ds, null);
        return ds;
    }

    /** Why PostgreSQL cannot be used here, or null when it answers. */
    public static String postgresUnavailable() {
        try (Connection c = DriverManager.getConnection(POSTGRES_URL + "?connectTimeout=3", POSTGRES_USER, "")) {
            return c.isValid(3) ? null : "PostgreSQL on 127.0.0.1:5432 answered but is not usable";
        } catch (Exception e) {
            return "PostgreSQL on 127.0.0.1:5432 (database test) does not answer (" + e.getMessage() + ")";
        }
    }

    /** Skips the calling test where PostgreSQL does not answer; in CI, where it must, fails it instead. */
    public static void assumePostgres() {
        String why = postgresUnavailable();
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the PostgreSQL tests: " + why);
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, () -> why + ": PostgreSQL tests skipped");
    }

    private static final java.util.List<String> CREATED_SCHEMAS = new java.util.concurrent.CopyOnWriteArrayList<>();

    public static DataSource postgres() {
        String schema = "t_" + UUID.randomUUID().toString().replace("-", "");
        CREATED_SCHEMAS.add(schema);
        DriverManagerDataSource admin = new DriverManagerDataSource(POSTGRES_URL, POSTGRES_USER, "");
        migrate(admin, schema);
        return new DriverManagerDataSource(POSTGRES_URL + "?currentSchema=" + schema, POSTGRES_USER, "");
    }

    /** Drops the schemas this run created, so the shared database does not fill up. */
    public static void dropPostgresSchemas() {
        var admin = new org.springframework.jdbc.core.JdbcTemplate(new DriverManagerDataSource(POSTGRES_URL, POSTGRES_USER, ""));
        for (String schema : CREATED_SCHEMAS) {
            admin.execute("drop schema if exists " + schema + " cascade");
        }
        CREATED_SCHEMAS.clear();
    }

    private static void migrate(DataSource ds, String schema) {
        var config = Flyway.configure().dataSource(ds).locations("classpath:db/migration");
        if (schema != null) {
            config.schemas(schema).createSchemas(true);
        }
        config.load().migrate();
    }

    /** The local cluster's version, when this machine runs one that pg_ctlcluster can stop and start; else null. */
    public static String localCluster() {
        java.nio.file.Path clusters = java.nio.file.Path.of("/etc/postgresql");
        if (!java.nio.file.Files.isDirectory(clusters) || !java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/pg_ctlcluster"))) {
            return null;
        }
        try (var versions = java.nio.file.Files.list(clusters)) {
            return versions.map(p -> p.getFileName().toString())
                    .filter(v -> java.nio.file.Files.isDirectory(clusters.resolve(v).resolve("main"))).findFirst().orElse(null);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** pg_ctlcluster VERSION main ACTION (stop, start): an outage of the index database, for the restart tests. */
    public static void pgctl(String version, String action) throws Exception {
        Process p = new ProcessBuilder("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action)
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("pg_ctlcluster " + action + " failed: " + output);
        }
    }
}
