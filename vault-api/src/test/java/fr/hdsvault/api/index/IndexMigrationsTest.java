package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * What docs/deploy.md tells an operator to do before a rolling update holds: each index a
 * migration builds on a large table may be built beforehand, concurrently, and the migration then
 * only drops the index it replaces. On the local PostgreSQL.
 */
class IndexMigrationsTest {

    @ParameterizedTest(name = "V{0} keeps {2} built beforehand")
    @CsvSource(delimiter = ';', value = {
        "16; search_token; search_token_by_id; resource_id, tenant, resource_type, param, token; search_token_resource;"
                + "insert into search_token select 'default', 'Observation', 'o' || i, 'date', 't' || i from generate_series(1, 1000) i",
        "17; audit_event; audit_event_agent_outcome; agent_token, recorded_at, outcome, patient_token, subtype; audit_event_agent;"
                + "insert into audit_event select i, now(), 'R', 0, 'read', 'a' || (i % 7), 'p' || i, 'e' || i, 'x'::bytea, 'h'::bytea "
                + "from generate_series(1, 1000) i"})
    void anIndexBuiltConcurrentlyBeforeTheUpdateIsKeptByTheMigration(int version, String table, String index, String columns,
                                                                     String replaced, String rows) {
        IndexDatabases.assumePostgres();
        String schema = "mig_" + UUID.randomUUID().toString().replace("-", "");
        DriverManagerDataSource admin = new DriverManagerDataSource(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "");
        try {
            Flyway.configure().dataSource(admin).schemas(schema).createSchemas(true).locations("classpath:db/migration")
                    .target(String.valueOf(version - 1)).load().migrate();
            JdbcTemplate jdbc = new JdbcTemplate(new DriverManagerDataSource(IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema,
                    IndexDatabases.POSTGRES_USER, ""));
            jdbc.update(rows);
            assertThat(indexNames(jdbc, schema, table)).contains(replaced);
            jdbc.execute("create index concurrently if not exists " + index + " on " + table + " (" + columns + ")");
            Object built = oid(jdbc, schema, index);

            Flyway.configure().dataSource(admin).schemas(schema).locations("classpath:db/migration").target(String.valueOf(version))
                    .load().migrate();

            assertThat(indexNames(jdbc, schema, table)).contains(index).doesNotContain(replaced);
            assertThat(jdbc.queryForObject("select indexdef from pg_indexes where schemaname = ? and indexname = ?", String.class,
                    schema, index)).endsWith("(" + columns + ")");
            assertThat(oid(jdbc, schema, index)).as("the index built beforehand, not a rebuilt one").isEqualTo(built);
        } finally {
            new JdbcTemplate(admin).execute("drop schema if exists " + schema + " cascade");
        }
    }

    private static List<String> indexNames(JdbcTemplate jdbc, String schema, String table) {
        return jdbc.queryForList("select indexname from pg_indexes where schemaname = ? and tablename = ?", String.class, schema, table);
    }

    private static Object oid(JdbcTemplate jdbc, String schema, String index) {
        return jdbc.queryForObject("select oid from pg_class where relname = ? and relnamespace = ?::regnamespace", Object.class, index,
                schema);
    }
}
