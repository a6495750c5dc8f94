package fr.hdsvault.backup;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Assumptions;
import org.postgresql.ds.PGSimpleDataSource;

/** Fresh databases for the lock and slot tests: an H2 in memory, or a new schema of the local PostgreSQL. */
final class TestDatabases {

    static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
    static final String VAULT_LOCK = "create table vault_lock (name varchar(64) not null primary key, "
            + "locked_until timestamp with time zone not null, locked_at timestamp with time zone not null, "
            + "locked_by varchar(255) not null)";
    static final String SCHEDULE_SLOT = "create table schedule_slot (job varchar(32) not null, "
            + "slot_at timestamp with time zone not null, node varchar(64) not null, "
            + "claimed_at timestamp with time zone not null, primary key (job, slot_at))";
    private static final List<String> SCHEMAS = new ArrayList<>();

    private TestDatabases() {
    }

    /** A database of {@code kind} ("h2" or "postgresql") with these tables; aborts the test if PostgreSQL does not answer. */
    static DataSource create(String kind, String... ddl) throws Exception {
        if (kind.equals("h2")) {
            JdbcDataSource h2 = new JdbcDataSource();
            h2.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
            try (Connection c = h2.getConnection(); Statement s = c.createStatement()) {
                for (String table : ddl) {
                    s.execute(table);
                }
            }
            return h2;
        }
        String schema = "backup_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = DriverManager.getConnection(PG_URL + "?connectTimeout=3", "postgres", "");
             Statement s = c.createStatement()) {
            s.execute("create schema " + schema);
            synchronized (SCHEMAS) {
                SCHEMAS.add(schema);
            }
            s.execute("set search_path to " + schema);
            for (String table : ddl) {
                s.execute(table);
            }
        } catch (java.sql.SQLException e) {
            Assumptions.abort("skipped: PostgreSQL on 127.0.0.1:5432 (database test) does not answer (" + e.getMessage() + ")");
        }
        PGSimpleDataSource pg = new PGSimpleDataSource();
        pg.setURL(PG_URL);
        pg.setUser("postgres");
        pg.setCurrentSchema(schema);
        return pg;
    }

    /** Drops the PostgreSQL schemas created so far (each test class calls it after its tests). */
    static void dropSchemas() throws Exception {
        List<String> schemas;
        synchronized (SCHEMAS) {
            schemas = new ArrayList<>(SCHEMAS);
            SCHEMAS.clear();
        }
        if (schemas.isEmpty()) {
            return;
        }
        try (Connection c = DriverManager.getConnection(PG_URL, "postgres", ""); Statement s = c.createStatement()) {
            for (String schema : schemas) {
                s.execute("drop schema if exists " + schema + " cascade");
            }
        }
    }
}
