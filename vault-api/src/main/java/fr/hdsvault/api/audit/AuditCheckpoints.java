package fr.hdsvault.api.audit;

import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.crypto.tlog.Checkpoint;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.storage.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The audit log's signed checkpoints (C2SP signed notes, Ed25519): each one goes to the
 * database ({@code audit_checkpoint}) and, as {@code checkpoints/<20-digit size>}, to the audit
 * bucket, in that order and with the database row forced to disk first, so that the bucket never
 * holds a checkpoint the database could lose. The two sets must match one to one
 * ({@link AuditVerifier}); a crash between the row and its copy leaves the newest copy missing,
 * which {@link #republishLatestIfMissing} restores at start-up.
 */
public final class AuditCheckpoints {

    public static final String PREFIX = "checkpoints/";
    private static final Logger log = LoggerFactory.getLogger(AuditCheckpoints.class);

    /** Who signs, and where the copies go. */
    public record Signer(String origin, String keyName, Ed25519.SigningKey key, String bucket) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final IndexDurability durability;
    private final ObjectStore store;
    private final Signer signer;
    private final Clock clock;

    public AuditCheckpoints(JdbcTemplate jdbc, TransactionTemplate tx, IndexDurability durability, ObjectStore store, Signer signer,
                            Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.durability = durability;
        this.store = store;
        this.signer = signer;
        this.clock = clock;
    }

    public static String objectName(long treeSize) {
        return PREFIX + String.format("%020d", treeSize);
    }

    /** The size of the newest checkpoint, 0 when there is none. */
    public long latestSize() {
        return jdbc.queryForObject("select coalesce(max(tree_size), 0) from audit_checkpoint", Long.class);
    }

    /**
     * Signs a checkpoint of the log's head and publishes it if it is newer than the latest;
     * returns the newest checkpoint's note. The head is locked meanwhile, so that nodes of a
     * cluster never sign two checkpoints of one size.
     */
    synchronized String publish() {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        Signed signed = tx.execute(status -> {
            CompactRange head = AuditHead.lock(jdbc);
            if (head.size() <= latestSize()) {
                return null;
            }
            String note = new Checkpoint(signer.origin(), head.size(), head.root(), now).sign(signer.keyName(), signer.key());
            jdbc.update("insert into audit_checkpoint (tree_size, root_hash, note, created_at) values (?, ?, ?, ?)",
                    head.size(), head.root(), note, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
            return new Signed(head.size(), note);
        });
        if (signed == null) {
            List<Map<String, Object>> latest = list(1);
            return latest.isEmpty() ? null : (String) value(latest.get(0), "note");
        }
        durability.sync(); // never a copy in the bucket that the database could lose
        // The copy outside the database: with Object Lock where the store enforces it, nobody rewrites it.
        store.put(signer.bucket(), objectName(signed.size()), signed.note().getBytes(StandardCharsets.UTF_8), Map.of());
        return signed.note();
    }

    private record Signed(long size, String note) {
    }

    /** The newest checkpoint's bucket copy, put again if a crash came between its row and its copy. */
    void republishLatestIfMissing() {
        List<Map<String, Object>> latest = list(1);
        if (latest.isEmpty()) {
            return;
        }
        long size = ((Number) value(latest.get(0), "tree_size")).longValue();
        if (!store.exists(signer.bucket(), objectName(size))) {
            log.warn("audit checkpoint at tree size {} had no copy in the audit bucket (interrupted publication): copied again", size);
            store.put(signer.bucket(), objectName(size), ((String) value(latest.get(0), "note")).getBytes(StandardCharsets.UTF_8),
                    Map.of());
        }
    }

    /** Signed checkpoints, newest first: tree size, root, note, time. */
    public List<Map<String, Object>> list(int limit) {
        return jdbc.queryForList("select tree_size, root_hash, note, created_at from audit_checkpoint order by tree_size desc limit "
                + Math.max(1, Math.min(limit, 1000)));
    }

    /** A column of a row, whatever case the database reports its names in. */
    static Object value(Map<String, Object> row, String column) {
        return row.containsKey(column) ? row.get(column) : row.get(column.toUpperCase(java.util.Locale.ROOT));
    }
}
