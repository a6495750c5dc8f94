package fr.hdsvault.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * One run per scheduled slot across every instance sharing a database. Each node of a cluster
 * fires the same cron; the slot (the time the cron named, not the time a node woke up) is
 * claimed by inserting it, and only the node whose insert succeeded runs it. The lock alone
 * does not give this: a node whose timer fired late, after another had finished, would find the
 * lock free and run the slot a second time.
 *
 * <p>A node that claims a slot and dies leaves the slot unrun; the next slot runs as usual (the
 * backup age metric says when a run is missing). Claims are kept {@link #KEPT} as a record of
 * which node ran what.
 *
 * <p>Table (created by the vault's schema migrations):
 * {@code schedule_slot(job, slot_at, node, claimed_at)}, primary key {@code (job, slot_at)}.
 */
public final class ScheduleSlots {

    /** How long claims are kept. */
    public static final Duration KEPT = Duration.ofDays(90);
    /** SQL state of a unique-key violation, the same on H2 and PostgreSQL. */
    private static final String UNIQUE_VIOLATION = "23505";

    private final DataSource db;

    public ScheduleSlots(DataSource db) {
        this.db = db;
    }

    /**
     * Claims a slot of a job for a node.
     *
     * @return true if this node runs the slot, false if another node claimed it first
     * @throws BackupException if the database cannot be reached (the slot is then not run here)
     */
    public boolean claim(String job, Instant slot, String node) {
        try (Connection c = db.getConnection()) {
            try (PreparedStatement s = c.prepareStatement(
                    "insert into schedule_slot (job, slot_at, node, claimed_at) values (?, ?, ?, current_timestamp)")) {
                s.setString(1, job);
                s.setObject(2, OffsetDateTime.ofInstant(slot, ZoneOffset.UTC));
                s.setString(3, node);
                s.executeUpdate();
            } catch (SQLException e) {
                if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                    rollback(c);
                    return false;
                }
                throw e;
            }
            try (PreparedStatement s = c.prepareStatement("delete from schedule_slot where job = ? and slot_at < ?")) {
                s.setString(1, job);
                s.setObject(2, OffsetDateTime.ofInstant(slot.minus(KEPT), ZoneOffset.UTC));
                s.executeUpdate();
            }
            if (!c.getAutoCommit()) {
                c.commit();
            }
            return true;
        } catch (SQLException e) {
            throw new BackupException("the " + job + " slot at " + slot + " cannot be claimed: " + e.getMessage(), e);
        }
    }

    /** The node that claimed a slot, if one did. */
    public Optional<String> claimedBy(String job, Instant slot) {
        try (Connection c = db.getConnection();
             PreparedStatement s = c.prepareStatement("select node from schedule_slot where job = ? and slot_at = ?")) {
            s.setString(1, job);
            s.setObject(2, OffsetDateTime.ofInstant(slot, ZoneOffset.UTC));
            try (var rs = s.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new BackupException("the " + job + " slot at " + slot + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static void rollback(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.rollback();
        }
    }
}
