package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.CompactRange;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Retention of the audit log: events older than the retention period are deleted in whole
 * checkpointed ranges only (up to the largest checkpoint whose events are all older), and the
 * tree's peaks there are kept ({@code audit_prune}), so that the log, its proofs and its
 * verification continue from them. Checkpoints are never deleted.
 */
public final class AuditRetention {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public AuditRetention(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** The tree's state where older events were pruned, if they were: (size, peaks). */
    static Optional<CompactRange> prunedPrefix(JdbcTemplate jdbc) {
        return jdbc.query("select tree_size, peaks from audit_prune order by tree_size desc limit 1",
                (rs, n) -> CompactRange.restore(rs.getLong(1), AuditHead.decode(rs.getBytes(2)))).stream().findFirst();
    }

    /**
     * Deletes the events recorded before {@code cutoff} in whole checkpointed ranges; returns how
     * many. Nodes of a cluster may prune at the same time: the first to record the pruning point
     * prunes, the others find it taken and prune nothing.
     */
    public synchronized long prune(Instant cutoff, Instant now) {
        CompactRange range = prunedPrefix(jdbc).orElseGet(CompactRange::new);
        Long point = jdbc.queryForObject("select max(c.tree_size) from audit_checkpoint c where c.tree_size > ? and not exists "
                + "(select 1 from audit_event e where e.seq < c.tree_size and e.recorded_at >= ?)", Long.class, range.size(),
                OffsetDateTime.ofInstant(cutoff, ZoneOffset.UTC));
        if (point == null) {
            return 0;
        }
        jdbc.query("select leaf_hash from audit_event where seq >= ? and seq < ? order by seq",
                rs -> {
                    range.append(rs.getBytes(1));
                }, range.size(), point);
        long target = point;
        try {
            return tx.execute(status -> {
                jdbc.update("insert into audit_prune (tree_size, peaks, pruned_at) values (?, ?, ?)", target,
                        AuditHead.encode(range.peaks()), OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                return (long) jdbc.update("delete from audit_event where seq < ?", target);
            });
        } catch (org.springframework.dao.DuplicateKeyException anotherNodePruned) {
            return 0;
        }
    }
}
