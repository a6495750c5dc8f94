package fr.hdsvault.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One holder at a time across every vault instance sharing a database, as ShedLock does: a row
 * per lock name with an expiry. The holder renews it while it works (a heartbeat every third
 * of the time to live); a holder that dies stops renewing and its lock expires, so a killed
 * vault never blocks the next run for longer than the time to live.
 *
 * <p>Table (created by the vault's schema migrations):
 * {@code vault_lock(name primary key, locked_until, locked_at, locked_by)}.
 */
public final class JdbcLock {

    private static final Logger log = LoggerFactory.getLogger(JdbcLock.class);

    private final DataSource db;
    private final Clock clock;
    private final Duration ttl;

    public JdbcLock(DataSource db, Clock clock, Duration ttl) {
        this.db = db;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** A held lock; closing it releases it. */
    public final class Held implements AutoCloseable {
        private final String name;
        private final String owner;
        private final ScheduledExecutorService heartbeat;

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
                update("update vault_lock set locked_until = ? where name = ? and locked_by = ?", utc(clock.instant().plus(ttl)),
                        name, owner);
            } catch (SQLException e) {
                log.warn("lock {}: heartbeat failed ({}); it expires in {} unless renewed", name, e.getMessage(), ttl);
            }
        }

        @Override
        public void close() {
            heartbeat.shutdownNow();
            try {
                update("update vault_lock set locked_until = ? where name = ? and locked_by = ?", utc(clock.instant()), name, owner);
            } catch (SQLException e) {
                log.warn("lock {}: release failed ({}); it expires in {}", name, e.getMessage(), ttl);
            }
        }
    }

    /** Takes the lock if nobody holds it (or its holder stopped renewing it); empty if it is held. */
    public Optional<Held> tryAcquire(String name, String owner) {
        OffsetDateTime now = utc(clock.instant());
        try {
            try {
                update("insert into vault_lock (name, locked_until, locked_at, locked_by) values (?, ?, ?, ?)",
                        name, utc(clock.instant().minusSeconds(1)), now, "");
            } catch (SQLException e) {
                // the row exists already: the update below decides
            }
            int taken = update("update vault_lock set locked_until = ?, locked_at = ?, locked_by = ? where name = ? and locked_until <= ?",
                    utc(clock.instant().plus(ttl)), now, owner, name, now);
            return taken == 1 ? Optional.of(new Held(name, owner)) : Optional.empty();
        } catch (SQLException e) {
            throw new BackupException("lock " + name + " cannot be taken: " + e.getMessage(), e);
        }
    }

    /** Who holds the lock now, if anyone. */
    public Optional<String> holder(String name) {
        try (Connection c = db.getConnection();
             PreparedStatement s = c.prepareStatement("select locked_by from vault_lock where name = ? and locked_until > ?")) {
            s.setString(1, name);
            s.setObject(2, utc(clock.instant()));
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

    private static OffsetDateTime utc(java.time.Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }
}
