package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The vault vacuums its own tables where autovacuum would have and cannot (off for the table,
 * whatever the server's setting), analyzes those it only needs to, and leaves the rest of the
 * database alone. On the local PostgreSQL, with the vault's migrated schema.
 */
@ExtendWith(PostgresSchemas.class)
class IndexMaintenanceTest {

    @Test
    void tablesAutovacuumDoesNotReachAreVacuumedByTheirThresholdsAndOthersOnlyAnalyzed() throws Exception {
        DataSource db = IndexDatabases.postgres();
        JdbcTemplate jdbc = new JdbcTemplate(db);
        // Off for these tables whatever the server says: the vault must take over.
        jdbc.execute("alter table search_token set (autovacuum_enabled = false)");
        jdbc.execute("alter table compartment_kek set (autovacuum_enabled = false)");
        // A bulk load followed by churn: far above the thresholds (dead rows, inserts since vacuum).
        jdbc.update("insert into search_token select 'default', 'Observation', 'o' || i, 'code', 't' || (i % 50) "
                + "from generate_series(1, 5000) i");
        jdbc.update("delete from search_token where resource_id like 'o1%'");
        // A handful of rows: below any vacuum threshold, but never analyzed.
        jdbc.update("insert into compartment_kek select 'default', 'Patient/p' || i, 'k' || i from generate_series(1, 10) i");
        // Not the vault's: whatever it holds, the vault does not touch it.
        jdbc.execute("create table not_the_vaults (id int)");
        jdbc.update("insert into not_the_vaults select i from generate_series(1, 5000) i");
        awaitPublished(jdbc, Map.of("search_token", 5000L, "compartment_kek", 10L, "not_the_vaults", 5000L));
        assertThat(allVisiblePages(jdbc, "search_token")).as("a table never vacuumed has no visibility map").isZero();

        IndexMaintenance.Done done;
        try (IndexMaintenance maintenance = IndexMaintenance.start(db)) {
            done = maintenance.maintain(); // start() checked once already: this one finds nothing left to do
            assertThat(done.vacuumed()).as("a second check right after the first").doesNotContain("search_token");
        }

        assertThat(lastVacuum(jdbc, "search_token")).as("search_token vacuumed").isNotNull();
        assertThat(allVisiblePages(jdbc, "search_token")).as("its index-only scans no longer fetch the heap").isPositive();
        assertThat(lastAnalyze(jdbc, "search_token")).as("and analyzed").isNotNull();
        assertThat(lastVacuum(jdbc, "compartment_kek")).as("ten rows are not worth a vacuum").isNull();
        assertThat(lastAnalyze(jdbc, "compartment_kek")).as("but a table never analyzed is").isNotNull();
        assertThat(lastVacuum(jdbc, "not_the_vaults")).isNull();
        assertThat(lastAnalyze(jdbc, "not_the_vaults")).isNull();
    }

    /** PostgreSQL publishes a session's change counts when it ends, or within a second or so: waits for each table's. */
    private static void awaitPublished(JdbcTemplate jdbc, Map<String, Long> insertedAtLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        for (var expected : insertedAtLeast.entrySet()) {
            while (jdbc.queryForObject("select coalesce(sum(n_tup_ins), 0) from pg_stat_user_tables where schemaname = current_schema() "
                    + "and relname = ?", Long.class, expected.getKey()) < expected.getValue()) {
                assertThat(System.nanoTime()).as("PostgreSQL published the counts of " + expected.getKey()).isLessThan(deadline);
                Thread.sleep(200);
            }
        }
    }

    private static Object lastVacuum(JdbcTemplate jdbc, String table) {
        return jdbc.queryForObject("select last_vacuum from pg_stat_user_tables where schemaname = current_schema() and relname = ?",
                Object.class, table);
    }

    private static Object lastAnalyze(JdbcTemplate jdbc, String table) {
        return jdbc.queryForObject("select last_analyze from pg_stat_user_tables where schemaname = current_schema() and relname = ?",
                Object.class, table);
    }

    private static int allVisiblePages(JdbcTemplate jdbc, String table) {
        return jdbc.queryForObject("select relallvisible from pg_class where oid = to_regclass(?)", Integer.class, table);
    }
}
