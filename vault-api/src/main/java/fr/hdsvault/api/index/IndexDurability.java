package fr.hdsvault.api.index;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Makes every index transaction committed so far durable (on disk, through a power cut)
 * before the vault acknowledges a request. The audit trail calls {@link #sync} once per group
 * of events, after committing them and before answering; every write's index transaction
 * commits before its audit event is queued, so one sync covers the writes and their events.
 *
 * <ul>
 *   <li>H2 (single node): H2 keeps committed transactions in memory and writes them to its
 *       file up to {@code WRITE_DELAY} (500 ms) later, and never forces that file to disk on its
 *       own commit path. {@code CHECKPOINT SYNC} is not enough either: when H2's background
 *       writer has already taken the changes and its save thread is still writing them, the
 *       statement finds nothing to store and forces the file before that write lands (this lost
 *       an acknowledged write in CI). So the sync stores what is committed, waits for H2's
 *       store pipeline to drain, then forces the file, through the MVStore itself; docs/api.md.</li>
 *   <li>PostgreSQL: a commit returns once its WAL is flushed, when {@code fsync} and
 *       {@code synchronous_commit} are on; nothing more to do. The vault says so at start-up
 *       when the server is configured otherwise.</li>
 * </ul>
 */
public final class IndexDurability {

    private static final Logger log = LoggerFactory.getLogger(IndexDurability.class);
    /**
     * The load benchmark's before/after switch: a JVM system property, deliberately not a Spring
     * property, so that no configuration file or environment variable can turn durability off.
     */
    public static final String BENCHMARK_SYNC_OFF = "hds-vault.benchmark.index-sync-off";

    private final DataSource dataSource;
    private final boolean h2;

    private IndexDurability(DataSource dataSource, boolean h2) {
        this.dataSource = dataSource;
        this.h2 = h2;
    }

    public static IndexDurability of(DataSource dataSource) {
        String product;
        try (Connection c = dataSource.getConnection()) {
            product = c.getMetaData().getDatabaseProductName();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reach the index database", e);
        }
        JdbcTemplate jdbc = new JdbcTemplate(dataSource);
        boolean h2 = "H2".equalsIgnoreCase(product);
        if ("PostgreSQL".equalsIgnoreCase(product)) {
            String fsync = jdbc.queryForObject("show fsync", String.class);
            String synchronousCommit = jdbc.queryForObject("show synchronous_commit", String.class);
            if (!"on".equals(fsync) || "off".equals(synchronousCommit)) {
                log.warn("index database: PostgreSQL runs with fsync={} and synchronous_commit={}: acknowledged writes are "
                        + "NOT durable through a power cut; set both to on", fsync, synchronousCommit);
            }
        } else if (!h2) {
            log.warn("index database {}: the vault cannot tell whether its commits are durable", product);
        }
        if (h2 && Boolean.getBoolean(BENCHMARK_SYNC_OFF)) {
            log.error("INDEX SYNC OFF: -D{}=true is for the load benchmark only; acknowledged writes are NOT durable",
                    BENCHMARK_SYNC_OFF);
            return new IndexDurability(dataSource, false);
        }
        return new IndexDurability(dataSource, h2);
    }

    /** Forces every transaction committed before this call to disk. */
    public void sync() {
        if (!h2) {
            return;
        }
        withStore(store -> {
            store.commit(); // stores what is committed and not yet handed to the store pipeline
            store.executeFilestoreOperation(store::sync); // drains the pipeline (background stores too), then forces
            return null;
        });
    }

    /**
     * The H2 database's file (as H2 names it, file system prefix included) where {@link #sync}
     * forces one, for what must be made durable beside it (the audit journal); empty on PostgreSQL.
     */
    public Optional<String> h2StoreFile() {
        return h2 ? Optional.of(withStore(store -> store.getFileStore().getFileName())) : Optional.empty();
    }

    /** Runs {@code work} on H2's store while a connection keeps the database open. */
    private <T> T withStore(java.util.function.Function<MVStore, T> work) {
        try (Connection c = dataSource.getConnection()) {
            // The connection only names the open database: the MVStore is shared by all of them.
            return work.apply(((SessionLocal) c.unwrap(JdbcConnection.class).getSession()).getDatabase().getStore().getMvStore());
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reach the index database", e);
        }
    }
}
