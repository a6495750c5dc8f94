package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * What docs/deploy.md tells an operator to do before a rolling update holds: the index V16
 * builds may be built beforehand, concurrently, and the migration then only drops the index it
 * replaces. On the local PostgreSQL.
 */
class IndexMigrationsTest {

    @Test
    void theByIdIndexBuiltConcurrentlyBeforeTheUpdateIsKeptByTheMigration() {
        IndexDatabases.assumePostgres();
        String schema = "mig_" + UUID.randomUUID().toString().replace("-", "");
        DriverManagerDataSource admin = new DriverManagerDataSource(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "");
        try {
            Flyway.configure().dataSource(admin).schemas(schema).createSchemas(true).locations("classpath:db/migration").target("15")
                    .load().migrate();
            JdbcTemplate jdbc = new JdbcTemplate(new DriverManagerDataSource(IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema,
                    IndexDatabases.POSTGRES_USER, ""));
            jdbc.update("insert into search_token select 'default', 'Observation', 'o' || i, 'date', 't' || i from generate_series(1, 1000) i");
            jdbc.execute("create index concurrently if not exists search_token_by_id on search_token "
                    + "(resource_id, tenant, resource_type, param, token)");
            Object built = jdbc.queryForObject("select oid from pg_class where relname = 'search_token_by_id' "
                    + "and relnamespace = ?::regnamespace", Object.class, schema);

            Flyway.configure().dataSource(admin).schemas(schema).locations("classpath:db/migration").load().migrate();

            List<String> indexes = jdbc.queryForList("select indexname || ' ' || indexdef from pg_indexes where schemaname = ? "
                    + "and tablename = 'search_token' order by indexname", String.class, schema);
            assertThat(indexes).hasSize(2);
            assertThat(indexes.get(0)).startsWith("search_token_by_id ").endsWith("(resource_id, tenant, resource_type, param, token)");
            assertThat(indexes.get(1)).startsWith("search_token_pkey ");
            assertThat(jdbc.queryForObject("select oid from pg_class where relname = 'search_token_by_id' and relnamespace = ?::regnamespace",
                    Object.class, schema)).as("the index built beforehand, not a rebuilt one").isEqualTo(built);
        } finally {
            new JdbcTemplate(admin).execute("drop schema if exists " + schema + " cascade");
        }
    }
}
