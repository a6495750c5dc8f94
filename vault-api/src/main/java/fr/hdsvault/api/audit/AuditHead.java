package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.crypto.tlog.MerkleTree;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The head of the audit log, in the database: its size and the peaks of its Merkle tree
 * ({@code audit_head}, one row). Whoever appends (the writer of any vault node) locks the row
 * in the transaction that inserts its events, takes the next positions from it and stores the
 * new state, so that the nodes of a cluster write one log, in one order, without gaps: the
 * pattern of a transparency log with several front ends over one database. Checkpoints are
 * signed under the same lock, of the state it holds.
 */
final class AuditHead {

    private AuditHead() {
    }

    /** The head, locked until the surrounding transaction ends. */
    static CompactRange lock(JdbcTemplate jdbc) {
        return jdbc.query("select tree_size, peaks from audit_head where id = 1 for update",
                        (rs, n) -> CompactRange.restore(rs.getLong(1), decode(rs.getBytes(2))))
                .stream().findFirst().orElseThrow(() -> new IllegalStateException("the audit log has no head"));
    }

    /** The head as last committed, without locking it. */
    static CompactRange read(JdbcTemplate jdbc) {
        return jdbc.query("select tree_size, peaks from audit_head where id = 1",
                        (rs, n) -> CompactRange.restore(rs.getLong(1), decode(rs.getBytes(2))))
                .stream().findFirst().orElseThrow(() -> new IllegalStateException("the audit log has no head"));
    }

    /** Stores the head after an append, in the transaction that locked it. */
    static void write(JdbcTemplate jdbc, CompactRange range, Instant now) {
        jdbc.update("update audit_head set tree_size = ?, peaks = ?, updated_at = ? where id = 1", range.size(), encode(range.peaks()),
                OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
    }

    /**
     * Creates the head where there is none (a new log, or one written before the head existed):
     * the tree from where retention pruned plus the events stored since. When another node
     * creates it meanwhile, its row stands.
     */
    static void initialize(JdbcTemplate jdbc, TransactionTemplate tx, Instant now) {
        if (!jdbc.queryForList("select id from audit_head where id = 1", Integer.class).isEmpty()) {
            return;
        }
        CompactRange range = AuditRetention.prunedPrefix(jdbc).orElseGet(CompactRange::new);
        jdbc.query("select leaf_hash from audit_event where seq >= ? order by seq", rs -> {
            range.append(rs.getBytes(1));
        }, range.size());
        try {
            tx.executeWithoutResult(s -> jdbc.update("insert into audit_head (id, tree_size, peaks, updated_at) values (1, ?, ?, ?)",
                    range.size(), encode(range.peaks()), OffsetDateTime.ofInstant(now, ZoneOffset.UTC)));
        } catch (DuplicateKeyException anotherNodeWasFirst) {
            // the row another node created holds the same log
        }
    }

    /** Peaks as stored: their hashes one after the other (also in {@code audit_prune}). */
    static byte[] encode(List<byte[]> peaks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        peaks.forEach(out::writeBytes);
        return out.toByteArray();
    }

    static List<byte[]> decode(byte[] all) {
        List<byte[]> peaks = new ArrayList<>();
        for (int i = 0; i < all.length; i += MerkleTree.HASH_LENGTH) {
            peaks.add(Arrays.copyOfRange(all, i, i + MerkleTree.HASH_LENGTH));
        }
        return peaks;
    }
}
