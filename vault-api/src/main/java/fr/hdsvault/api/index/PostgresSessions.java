package fr.hdsvault.api.index;

import java.util.Map;

/**
 * How the vault's connections to a PostgreSQL index are set up (the connection pool's settings),
 * in one place for the server and the tests that check them.
 */
public final class PostgresSessions {

    /**
     * Run on every new connection: plan each execution of a statement with its values. The driver
     * prepares a statement on the server after its fifth execution, and PostgreSQL may then switch
     * to a generic plan made without the values. The blind tokens' frequencies differ by orders of
     * magnitude (a patient has hundreds of observations, the whole vault thousands of vital signs),
     * so a plan that does not know which token it looks up guesses "one row" for each and, on the
     * Synthea load, joined a patient's observations with every vital-signs token by a filter: 30 ms
     * a search where the plan made for the values takes 8 (docs/performance.md). Planning each
     * search costs a few hundred microseconds to a few milliseconds.
     */
    public static final String INIT_SQL = "set plan_cache_mode = force_custom_plan";

    /** Spring Boot's properties for a PostgreSQL index (a bundle's index rows as multi-row inserts, not one statement per row). */
    public static final Map<String, String> SPRING_PROPERTIES = Map.of(
            "spring.datasource.hikari.connection-init-sql", INIT_SQL,
            "spring.datasource.hikari.data-source-properties.reWriteBatchedInserts", "true");

    private PostgresSessions() {
    }
}
