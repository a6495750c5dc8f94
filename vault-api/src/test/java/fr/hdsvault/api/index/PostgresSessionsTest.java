package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import fr.hdsvault.api.resources.ResourceSearch;
import fr.hdsvault.api.resources.SearchCriteria;
import fr.hdsvault.api.security.Visibility;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * The vault's PostgreSQL connections plan every search with its tokens. Blind tokens are skewed
 * (one patient's observations against every vital sign of the vault): a search run often enough
 * on one connection is prepared on the server, and a generic plan, made without the tokens,
 * guesses one row for each. On the local PostgreSQL, with the vault's migrated schema.
 */
@ExtendWith(PostgresSchemas.class)
class PostgresSessionsTest {

    static final String PATIENT = "patient-token";
    static final String VITAL_SIGNS = "vital-signs-token";

    @Test
    void aSearchRunManyTimesOnOneConnectionIsPlannedForItsTokensEveryTime() {
        DriverManagerDataSource schema = (DriverManagerDataSource) IndexDatabases.postgres();
        JdbcTemplate setup = new JdbcTemplate(schema);
        // 20,000 observations of 100 patients, all vital signs; one patient's 200 in the middle of them.
        setup.update("insert into resource_current select 'default', 'Observation', 'o' || i, 1, false, now(), 'Patient/p' || (i % 100) "
                + "from generate_series(1, 20000) i");
        setup.update("insert into search_token select 'default', 'Observation', 'o' || i, 'patient', "
                + "case when i % 100 = 7 then ? else 'p' || (i % 100) end from generate_series(1, 20000) i", PATIENT);
        setup.update("insert into search_token select 'default', 'Observation', 'o' || i, 'category', ? from generate_series(1, 20000) i",
                VITAL_SIGNS);
        setup.update("insert into search_token select 'default', 'Observation', 'o' || i, 'code', 'c' || i from generate_series(1, 20000) i");
        setup.execute("analyze");

        // What the setting guards against: left to itself, PostgreSQL switches this search to a generic plan.
        assertThat(plansOfTenSearches(schema.getUrl(), "select 1").get("generic")).as("generic plans by default").isPositive();

        Map<String, Long> plans = plansOfTenSearches(schema.getUrl(), PostgresSessions.INIT_SQL);
        assertThat(plans.get("generic")).as("generic plans with the vault's session settings").isZero();
        assertThat(plans.get("custom")).as("plans made for the tokens").isPositive();
    }

    /** Runs the same search ten times on one pooled connection; how PostgreSQL planned its server-prepared statement. */
    private static Map<String, Long> plansOfTenSearches(String url, String initSql) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(IndexDatabases.POSTGRES_USER);
        config.setMaximumPoolSize(1);
        config.setConnectionInitSql(initSql);
        try (HikariDataSource pool = new HikariDataSource(config)) {
            JdbcTemplate jdbc = new JdbcTemplate(pool);
            ResourceSearch search = new ResourceSearch(jdbc, "default");
            SearchCriteria criteria = new SearchCriteria(List.of(new SearchCriteria.Tokens("patient", List.of(PATIENT), false),
                    new SearchCriteria.Tokens("category", List.of(VITAL_SIGNS), false)), false);
            for (int i = 0; i < 10; i++) {
                assertThat(search.search("Observation", criteria, Visibility.ALL)).hasSize(200);
            }
            return jdbc.queryForObject("select coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) from pg_prepared_statements "
                    + "where statement like 'select distinct c.resource_id%'", (rs, n) -> Map.of("generic", rs.getLong(1), "custom",
                    rs.getLong(2)));
        }
    }
}
