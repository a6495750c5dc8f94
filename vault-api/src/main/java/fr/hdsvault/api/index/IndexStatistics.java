package fr.hdsvault.api.index;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Keeps PostgreSQL's planner statistics of the vault's tables fresh, so that every index query
 * keeps its index-backed plan as the tables grow. A table that was never analyzed is planned
 * from default selectivities, which multiply across the (tenant, type, ...) keys into "one
 * row": the planner then joins through the wrong index and a search that takes milliseconds
 * takes minutes (78 s per {@code Observation?patient=} after loading the Synthea set twice).
 * PostgreSQL's autovacuum analyzes tables on its own, but it can be off (it is on these
 * machines) or lag behind a bulk load; so the vault checks its own tables, at start, after a
 * restore, and every {@link #CHECK_EVERY}, and analyzes those changed by more than
 * autovacuum's own threshold (50 rows plus 10 % of the table). H2 analyzes itself (every 2,000
 * changes): nothing to do there.
 */
public final class IndexStatistics implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(IndexStatistics.class);
    public static final Duration CHECK_EVERY = Duration.ofSeconds(30);
    /** The tables the vault's queries read by index; the small ones (locks, drills) need no care. */
    static final List<String> TABLES = List.of("resource_current", "resource_version", "search_token", "compartment_kek",
            "kek_registry", "audit_event", "audit_checkpoint");

    private final JdbcTemplate jdbc;
    private final ScheduledExecutorService schedule;

    private IndexStatistics(JdbcTemplate jdbc, boolean scheduled) {
        this.jdbc = jdbc;
        this.schedule = scheduled ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "index-statistics");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** For the vault: checks now, then every {@link #CHECK_EVERY}; a no-op on H2. */
    public static IndexStatistics start(DataSource dataSource) {
        if (!postgres(dataSource)) {
            return new IndexStatistics(null, false);
        }
        IndexStatistics statistics = new IndexStatistics(new JdbcTemplate(dataSource), true);
        JdbcTemplate jdbc = statistics.jdbc;
        if (!"on".equals(jdbc.queryForObject("show autovacuum", String.class))) {
            log.warn("index database: PostgreSQL's autovacuum is off: the vault keeps its tables' statistics itself, "
                    + "but nothing vacuums them (dead rows accumulate): the database administrator must");
        }
        statistics.refreshStale();
        statistics.schedule.scheduleWithFixedDelay(() -> {
            try {
                statistics.refreshStale();
            } catch (RuntimeException e) {
                log.warn("index statistics not refreshed: {}", e.getClass().getSimpleName());
            }
        }, CHECK_EVERY.toMillis(), CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
        return statistics;
    }

    /** Analyzes every vault table now (after a bulk load: a restore); a no-op on H2. */
    public static void analyzeAll(DataSource dataSource) {
        if (postgres(dataSource)) {
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            TABLES.forEach(t -> jdbc.execute("analyze " + t));
        }
    }

    /**
     * Analyzes the vault's tables that were never analyzed, or changed by more than 50 rows plus
     * 10 % of their size since; returns their names.
     */
    public List<String> refreshStale() {
        if (jdbc == null) {
            return List.of();
        }
        List<String> stale = new ArrayList<>();
        jdbc.query("select relname, n_live_tup, n_mod_since_analyze, coalesce(last_analyze, last_autoanalyze) is null "
                + "from pg_stat_user_tables where schemaname = current_schema()", rs -> {
            String table = rs.getString(1);
            long live = rs.getLong(2);
            long changed = rs.getLong(3);
            boolean never = rs.getBoolean(4);
            if (TABLES.contains(table) && (never && live + changed > 0 || changed > 50 + live / 10)) {
                stale.add(table);
            }
        });
        for (String table : stale) {
            jdbc.execute("analyze " + table);
        }
        if (!stale.isEmpty()) {
            log.info("index statistics refreshed: {}", stale);
        }
        return stale;
    }

    private static boolean postgres(DataSource dataSource) {
        try (Connection c = dataSource.getConnection()) {
            return "PostgreSQL".equalsIgnoreCase(c.getMetaData().getDatabaseProductName());
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reach the index database", e);
        }
    }

    @Override
    public void close() {
        if (schedule != null) {
            schedule.shutdownNow();
        }
    }
}
