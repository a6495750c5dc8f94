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
 * keeps its index-backed plan as the tables grow, and vacuums them where autovacuum does not.
 * A table that was never analyzed is planned from default selectivities, which multiply across
 * the (tenant, type, ...) keys into "one row": the planner then joins through the wrong index
 * and a search that takes milliseconds takes minutes (78 s per {@code Observation?patient=}
 * after loading the Synthea set twice). A table never vacuumed has no visibility map: every
 * index-only scan fetches each row from the heap as well, and dead rows pile up. PostgreSQL's autovacuum does both on its
 * own, but it can be off (it is on these machines) or lag behind a bulk load; so the vault
 * checks its own tables, at start, after a restore, and every {@link #CHECK_EVERY}:
 * <ul>
 *   <li>where autovacuum is off (for the server, or for the table), it vacuums and analyzes the
 *       tables autovacuum would have, by its default thresholds: dead rows above 50 plus 20 % of
 *       the table, or rows inserted since the last vacuum above 1,000 plus 20 %;</li>
 *   <li>it analyzes those changed by more than autovacuum's analyze threshold (50 rows plus
 *       10 %) since their last analysis.</li>
 * </ul>
 * H2 analyzes itself (every 2,000 changes) and needs no vacuum: nothing to do there.
 */
public final class IndexMaintenance implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(IndexMaintenance.class);
    public static final Duration CHECK_EVERY = Duration.ofSeconds(30);
    /** The tables the vault's queries read by index; the small ones (locks, drills) need no care. */
    static final List<String> TABLES = List.of("resource_current", "resource_version", "search_token", "compartment_kek",
            "kek_registry", "audit_event", "audit_checkpoint");

    private final JdbcTemplate jdbc;
    private final ScheduledExecutorService schedule;

    private IndexMaintenance(JdbcTemplate jdbc, boolean scheduled) {
        this.jdbc = jdbc;
        this.schedule = scheduled ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "index-maintenance");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** For the vault: checks now, then every {@link #CHECK_EVERY}; a no-op on H2. */
    public static IndexMaintenance start(DataSource dataSource) {
        if (!postgres(dataSource)) {
            return new IndexMaintenance(null, false);
        }
        IndexMaintenance maintenance = new IndexMaintenance(new JdbcTemplate(dataSource), true);
        if (!"on".equals(maintenance.jdbc.queryForObject("show autovacuum", String.class))) {
            log.warn("index database: PostgreSQL's autovacuum is off: the vault vacuums and analyzes its own tables "
                    + "(every {}), the database administrator the others", CHECK_EVERY);
        }
        maintenance.maintain();
        maintenance.schedule.scheduleWithFixedDelay(() -> {
            try {
                maintenance.maintain();
            } catch (RuntimeException e) {
                log.warn("index maintenance not done: {}", e.getClass().getSimpleName());
            }
        }, CHECK_EVERY.toMillis(), CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
        return maintenance;
    }

    /** Analyzes every vault table now (after a bulk load: a restore); a no-op on H2. */
    public static void analyzeAll(DataSource dataSource) {
        if (postgres(dataSource)) {
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            TABLES.forEach(t -> jdbc.execute("analyze " + t));
        }
    }

    /** What one check did: the tables vacuumed (and analyzed), and those only analyzed. */
    public record Done(List<String> vacuumed, List<String> analyzed) {
    }

    /**
     * Vacuums the vault's tables that autovacuum would have vacuumed had it been on for them,
     * then analyzes those never analyzed or changed by more than 50 rows plus 10 % since.
     */
    public Done maintain() {
        if (jdbc == null) {
            return new Done(List.of(), List.of());
        }
        boolean autovacuum = "on".equals(jdbc.queryForObject("show autovacuum", String.class));
        List<String> vacuum = new ArrayList<>();
        List<String> analyze = new ArrayList<>();
        jdbc.query("select s.relname, s.n_live_tup, s.n_dead_tup, s.n_ins_since_vacuum, s.n_mod_since_analyze, "
                + "coalesce(s.last_analyze, s.last_autoanalyze) is null, "
                + "coalesce('autovacuum_enabled=false' = any(c.reloptions), false) "
                + "from pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.schemaname = current_schema()", rs -> {
            String table = rs.getString(1);
            long live = rs.getLong(2);
            long dead = rs.getLong(3);
            long inserted = rs.getLong(4);
            long changed = rs.getLong(5);
            boolean neverAnalyzed = rs.getBoolean(6);
            boolean tableOff = rs.getBoolean(7);
            if (!TABLES.contains(table)) {
                return;
            }
            if ((!autovacuum || tableOff) && (dead > 50 + live / 5 || inserted > 1_000 + live / 5)) {
                vacuum.add(table);
            } else if (neverAnalyzed && live + changed > 0 || changed > 50 + live / 10) {
                analyze.add(table);
            }
        });
        // Outside any transaction (VACUUM refuses one): the template's connections are in auto-commit.
        vacuum.forEach(table -> jdbc.execute("vacuum (analyze) " + table));
        analyze.forEach(table -> jdbc.execute("analyze " + table));
        if (!vacuum.isEmpty() || !analyze.isEmpty()) {
            log.info("index tables vacuumed: {}, analyzed: {}", vacuum, analyze);
        }
        return new Done(List.copyOf(vacuum), List.copyOf(analyze));
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
