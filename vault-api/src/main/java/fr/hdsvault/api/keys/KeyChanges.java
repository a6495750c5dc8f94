package fr.hdsvault.api.keys;

import fr.hdsvault.crypto.Keyring;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Makes a KEK destroyed on one vault node unusable on every node within {@link #EVERY} plus a
 * query: each node holds unwrapped KEKs in a cache (10 minutes), so crypto-shredding done by
 * one node would otherwise leave the others decrypting. The registry records each destruction
 * in {@code key_change}; this watch reads what came after the last change it saw and drops
 * those keys from its node's cache, so the next use finds the tombstone and fails
 * ("permanently unreadable"). A new KEK version needs no notice: every seal reads the newest
 * version from the registry.
 */
public final class KeyChanges implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KeyChanges.class);
    public static final Duration EVERY = Duration.ofSeconds(2);

    private final JdbcTemplate jdbc;
    private final Keyring keyring;
    private final ScheduledExecutorService schedule;
    private long seen;

    private KeyChanges(JdbcTemplate jdbc, Keyring keyring) {
        this.jdbc = jdbc;
        this.keyring = keyring;
        this.seen = jdbc.queryForObject("select coalesce(max(seq), 0) from key_change", Long.class);
        this.schedule = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "key-changes");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts watching: changes made before now are in the registry already, hence never in a fresh cache. */
    public static KeyChanges watch(JdbcTemplate jdbc, Keyring keyring) {
        KeyChanges changes = new KeyChanges(jdbc, keyring);
        changes.schedule.scheduleWithFixedDelay(() -> {
            try {
                changes.apply();
            } catch (RuntimeException e) {
                log.warn("key changes not read: {}", e.getClass().getSimpleName());
            }
        }, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
        return changes;
    }

    /** Drops from the cache every key changed since the last call; returns how many changes were read. */
    synchronized int apply() {
        List<Object[]> changes = jdbc.query("select seq, kek_id from key_change where seq > ? order by seq",
                (rs, n) -> new Object[] {rs.getLong(1), rs.getString(2)}, seen);
        for (Object[] change : changes) {
            keyring.forget((String) change[1]);
            seen = (Long) change[0];
        }
        return changes.size();
    }

    @Override
    public void close() {
        schedule.shutdownNow();
    }
}
