package fr.hdsvault.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One holder at a time across every vault instance sharing a database, as ShedLock does: a row
 * per lock name with an expiry. Every time is the database's ({@code current_timestamp}), never
 * an instance's: nodes whose clocks disagree still agree on who holds the lock. The holder
 * renews it while it works (a heartbeat every third of the time to live); a holder that dies
 * stops renewing and its lock expires, so a killed vault never blocks the next run for longer
 * than the time to live. A holder whose renewal finds the lock expired or taken (it was frozen,
 * or cut from the database, for longer than the time to live) knows it has lost it:
 * {@link Held#lost()}, which its work checks so as to stop instead of carrying on beside the
 * new holder.
 *
 * <p>Table (created by the vault's schema migrations):
 * {@code vault_lock(name primary key, locked_until, locked_at, locked_by)}.
 */
public final class JdbcLock {

    private static final Logger log = LoggerFactory.getLogger(JdbcLock.class);

    private final DataSource db;
    private final Duration ttl;
    private final Runnable durable;
    /** {@code current_timestamp} plus the time to live, as H2 and PostgreSQL both read it. */
    private final String expiry;

    public JdbcLock(DataSource db, Duration ttl) {
        this(db, ttl, () -> { });
    }

    /**
     * @param durable run after the lock is taken, before the holder works: makes the taking
     *                durable where the database's own commit does not (H2), so that a holder
     *                killed at once still keeps others out until its lock expires
     */
    public JdbcLock(DataSource db, Duration ttl, Runnable durable) {
        if (ttl.toMillis() < 1000) {
            throw new IllegalArgumentException("a lock lives at least one second");
        }
        this.db = db;
        this.ttl = ttl;
        this.durable = durable;
        this.expiry = String.format(Locale.ROOT, "current_timestamp + interval '%d.%03d' second", ttl.toSeconds(), ttl.toMillisPart());
    }

    /** A held lock; closing it releases it. */
    public final class Held implements AutoCloseable {
        private final String name;
        private final String owner;
        private final ScheduledExecutorService heartbeat;
        private volatile boolean lost;

        private Held(String name, String owner) {
            this.name = name;
            this.owner = owner;
            this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "lock-heartbeat-" + name);
                t.setDaemon(true);
                return t;
            });
            long period = Math.max(1, ttl.toMillis() / 3);
            heartbeat.scheduleAtFixedRate(this::renew, period, period, TimeUnit.MILLISECONDS);
        }

        private void renew() {
            try {
                if (update("update vault_lock set locked_until = " + expiry + " where name = ? and locked_by = ? "
                        + "and locked_until > current_timestamp", name, owner) == 0) {
                    lost = true;
                    heartbeat.shutdown();
                    log.error("lock {}: lost (expired or taken while this holder did not renew it); its work stops", name);
                }
            } catch (SQLException e) {
                log.warn("lock {}: heartbeat failed ({}); it expires in {} unless renewed", name, e.getMessage(), ttl);
            }
        }

        /** True once a renewal found the lock expired or held by another: whatever holds it now may run meanwhile. */
        public boolean lost() {
            return lost;
        }

        /** Stops renewing without releasing: what a frozen or killed holder does (tests). */
        void abandon() {
            heartbeat.shutdownNow();
        }

        @Override
        public void close() {
            heartbeat.shutdownNow();
            try {
                update("update vault_lock set locked_until = current_timestamp where name = ? and locked_by = ?", name, owner);
            } catch (SQLException e) {
                log.warn("lock {}: release failed ({}); it expires in {}", name, e.getMessage(), ttl);
            }
        }
    }

    /** Takes the lock if nobody holds it (or its holder stopped renewing it); empty if it is held. */
    public Optional<Held> tryAcquire(String name, String owner) {
        try {
            try {
                update("insert into vault_lock (name, locked_until, locked_at, locked_by) values "
                        + "(?, current_timestamp - interval '1' second, current_timestamp, '')", name);
            } catch (SQLException e) {
                // the row exists already: the update below decides
            }
            int taken = update("update vault_lock set locked_until = " + expiry + ", locked_at = current_timestamp, locked_by = ? "
                    + "where name = ? and locked_until <= current_timestamp", owner, name);
            if (taken != 1) {
                return Optional.empty();
            }
            durable.run();
            return Optional.of(new Held(name, owner));
        } catch (SQLException e) {
            throw new BackupException("lock " + name + " cannot be taken: " + e.getMessage(), e);
        }
    }

    /** Who holds the lock now, if anyone. */
    public Optional<String> holder(String name) {
        try (Connection c = db.getConnection();
             PreparedStatement s = c.prepareStatement("select locked_by from vault_lock where name = ? and locked_until > current_timestamp")) {
            s.setString(1, name);
            try (var rs = s.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new BackupException("lock " + name + " cannot be read: " + e.getMessage(), e);
        }
    }

    private int update(String sql, Object... args) throws SQLException {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            int n = s.executeUpdate();
            if (!c.getAutoCommit()) {
                c.commit();
            }
            return n;
        }
    }
}
