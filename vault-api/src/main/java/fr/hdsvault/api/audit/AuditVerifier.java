package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.Checkpoint;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.storage.ListPage;
import fr.hdsvault.storage.ObjectInfo;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.ObjectStoreException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Recomputes the audit tree from the stored events and checks it against every signed
 * checkpoint. Needs no key but the checkpoint public key: an auditor can run it on a copy of the
 * database. It checks, and reports the first problem by position:
 * <ul>
 *   <li>every checkpoint's signature, in the database and in the audit bucket (read through
 *       the S3 API), and that both hold the same checkpoints, one to one: a copy deleted from the
 *       bucket, or a database rolled back past checkpoints the bucket still holds, is a failure;</li>
 *   <li>every leaf, recomputed from the stored columns, and the root at each checkpoint
 *       (modified, missing, reordered, truncated events);</li>
 *   <li>with a checkpoint the auditor saved earlier ({@code trusted}), that the trail only grew
 *       from it: it holds at least that many events, and their root is the trusted one. This
 *       detects a rollback even when every later checkpoint was deleted in both places.</li>
 * </ul>
 */
public final class AuditVerifier {

    /** The outcome: ok, and a one-line summary or the first problem found. */
    public record Result(boolean ok, String message, long events, int checkpoints) {
    }

    private record Row(long seq, AuditLeaf leaf, byte[] storedLeafHash) {
    }

    /** Where the database's and the bucket's checkpoints differ first. */
    private record Mismatch(long position, String what) {
    }

    private final JdbcTemplate jdbc;
    private final byte[] publicKey;
    private final String keyName;
    private final ObjectStore store;
    private final String bucket;

    /**
     * @param store  the store of the audit bucket, or null to check the database's checkpoints
     *               only (said in the summary)
     * @param bucket the audit bucket
     */
    public AuditVerifier(JdbcTemplate jdbc, byte[] publicKey, String keyName, ObjectStore store, String bucket) {
        this.jdbc = jdbc;
        this.publicKey = publicKey.clone();
        this.keyName = keyName;
        this.store = store;
        this.bucket = bucket;
    }

    public Result verify() {
        return verify(null);
    }

    /** @param trustedNote a checkpoint note the auditor saved earlier, or null */
    public Result verify(String trustedNote) {
        Checkpoint trusted = null;
        if (trustedNote != null) {
            trusted = Checkpoint.verify(trustedNote, keyName, publicKey).orElse(null);
            if (trusted == null) {
                return new Result(false, "audit trail FAILED: the trusted checkpoint's signature does not verify with the "
                        + "trusted public key", 0, 0);
            }
        }
        // The bucket is listed before the database is read: a copy is put after its row, so every copy
        // listed has its row by then, unless the database was rolled back.
        List<Long> copied = store == null ? List.of() : copiedSizes();
        TreeMap<Long, String> inDatabase = new TreeMap<>();
        jdbc.query("select tree_size, note from audit_checkpoint", rs -> {
            inDatabase.put(rs.getLong(1), rs.getString(2));
        });
        TreeMap<Long, Checkpoint> checkpoints = new TreeMap<>();
        for (Map.Entry<Long, String> note : inDatabase.entrySet()) {
            Optional<Checkpoint> cp = Checkpoint.verify(note.getValue(), keyName, publicKey);
            if (cp.isEmpty() || cp.get().size() != note.getKey()) {
                return new Result(false, "audit trail FAILED at position " + note.getKey() + ": the checkpoint at tree size "
                        + note.getKey() + " does not verify with the trusted public key (forged or re-signed)", 0, 0);
            }
            checkpoints.put(note.getKey(), cp.get());
        }
        if (store != null) {
            Mismatch mismatch = compareWithBucket(copied, inDatabase);
            if (mismatch != null) {
                return fail(mismatch.what(), mismatch.position(), checkpoints);
            }
        }
        // The head is read before the events: every event it counts is stored by then (they commit together).
        Optional<CompactRange> head = jdbc.query("select tree_size, peaks from audit_head where id = 1",
                (rs, n) -> CompactRange.restore(rs.getLong(1), AuditHead.decode(rs.getBytes(2)))).stream().findFirst();
        List<Row> rows = jdbc.query("select seq, recorded_at, action, outcome, subtype, agent_token, patient_token, entity_token, "
                + "envelope, leaf_hash from audit_event order by seq", (rs, n) -> new Row(rs.getLong(1),
                new AuditLeaf(rs.getLong(1), rs.getObject(2, OffsetDateTime.class).toInstant(), rs.getString(3), rs.getInt(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getBytes(9)), rs.getBytes(10)));
        CompactRange tree = new CompactRange();
        Optional<CompactRange> pruned = AuditRetention.prunedPrefix(jdbc);
        if (pruned.isPresent()) {
            // Events before this point were removed by retention: the peaks kept there must fold to its signed root.
            Checkpoint at = checkpoints.get(pruned.get().size());
            if (at == null || !MessageDigest.isEqual(at.rootHash(), pruned.get().root())) {
                return fail("the pruned range [0, " + pruned.get().size() + ") does not match a signed checkpoint of that size",
                        pruned.get().size(), checkpoints);
            }
            tree = pruned.get();
        }
        long first = tree.size();
        if (trusted != null && trusted.size() < first) {
            return fail("the trusted checkpoint (tree size " + trusted.size() + ") predates the retention pruning point " + first
                    + ": the stored events cannot prove it; verify with a checkpoint saved after it", trusted.size(), checkpoints);
        }
        boolean trustedChecked = trusted != null && trusted.size() == 0; // the empty tree is a prefix of every tree
        for (int i = 0; i < rows.size(); i++) {
            long position = first + i;
            Row row = rows.get(i);
            if (row.seq() != position) {
                return fail("event at position " + position + " is missing (the next stored event is " + row.seq() + ")",
                        position, checkpoints);
            }
            byte[] leaf = row.leaf().hash();
            if (!MessageDigest.isEqual(leaf, row.storedLeafHash())) {
                Optional<Long> belongs = belongsAt(row, rows);
                return fail(belongs.isPresent()
                        ? "event at position " + position + " is out of order: it was recorded at position " + belongs.get()
                                + " (events reordered)"
                        : "event at position " + position + " was modified after it was recorded", position, checkpoints);
            }
            tree.append(leaf);
            Checkpoint cp = checkpoints.get(tree.size());
            if (cp != null && !MessageDigest.isEqual(cp.rootHash(), tree.root())) {
                long from = Optional.ofNullable(checkpoints.lowerKey(tree.size())).orElse(0L);
                return fail("events " + from + " to " + (tree.size() - 1) + " do not match the signed checkpoint at tree size "
                        + tree.size() + " (an event in that range was modified, inserted or removed)", from, checkpoints);
            }
            if (head.isPresent() && tree.size() == head.get().size() && !MessageDigest.isEqual(head.get().root(), tree.root())) {
                return fail("the log's head (tree size " + tree.size() + ") does not match the events stored up to it",
                        tree.size(), checkpoints);
            }
            if (trusted != null && tree.size() == trusted.size()) {
                if (!MessageDigest.isEqual(trusted.rootHash(), tree.root())) {
                    return fail("the first " + trusted.size() + " events do not match the trusted checkpoint (the trail was "
                            + "rewritten since it was saved)", trusted.size(), checkpoints);
                }
                trustedChecked = true;
            }
        }
        long end = tree.size();
        if (trusted != null && trusted.size() == first && first > 0) {
            trustedChecked = MessageDigest.isEqual(trusted.rootHash(), pruned.map(CompactRange::root).orElse(new byte[0]));
            if (!trustedChecked) {
                return fail("the pruned range does not match the trusted checkpoint", first, checkpoints);
            }
        }
        if (trusted != null && !trustedChecked) {
            return fail("the trail is rolled back: it holds " + end + " events, fewer than the " + trusted.size()
                    + " of the trusted checkpoint", end, checkpoints);
        }
        if (head.isPresent() && head.get().size() > end) {
            return fail("the trail is truncated: the log's head counts " + head.get().size() + " events, only " + end
                    + " are stored or pruned", end, checkpoints);
        }
        if (!checkpoints.isEmpty() && checkpoints.lastKey() > end) {
            return fail("the trail is truncated: the checkpoint at tree size " + checkpoints.lastKey() + " covers "
                    + checkpoints.lastKey() + " events, only " + end + " are stored or pruned", end, checkpoints);
        }
        String summary = "audit trail verified: " + end + " events (" + rows.size() + " stored"
                + (first > 0 ? ", " + first + " pruned by retention" : "") + "), " + checkpoints.size() + " signed checkpoints"
                + (store == null ? " (database only: the audit bucket was not compared)" : ", the same in the audit bucket")
                + (checkpoints.isEmpty() ? "" : " (latest at tree size " + checkpoints.lastKey() + ", root "
                + Base64.getEncoder().encodeToString(checkpoints.lastEntry().getValue().rootHash()) + ")")
                + ", " + (end - (checkpoints.isEmpty() ? 0 : checkpoints.lastKey())) + " events after the latest checkpoint"
                + (trusted == null ? "" : "; the trail grew from the trusted checkpoint at tree size " + trusted.size());
        return new Result(true, summary, end, checkpoints.size());
    }

    /** The tree sizes of the checkpoint copies in the audit bucket. */
    private List<Long> copiedSizes() {
        List<Long> sizes = new java.util.ArrayList<>();
        String after = null;
        do {
            ListPage page = store.list(bucket, AuditCheckpoints.PREFIX, after, 1000);
            for (ObjectInfo o : page.objects()) {
                try {
                    sizes.add(Long.parseLong(o.key().substring(AuditCheckpoints.PREFIX.length())));
                } catch (NumberFormatException notACheckpoint) {
                    // not one of ours
                }
            }
            after = page.nextStartAfter();
        } while (after != null);
        return sizes;
    }

    /**
     * The database's and the bucket's checkpoints, one to one: the first difference, or null. Only
     * the database's newest checkpoint may lack its copy for a moment (it is being published), so
     * it is looked for again before it is reported missing.
     */
    private Mismatch compareWithBucket(List<Long> copied, TreeMap<Long, String> inDatabase) {
        for (long size : copied) {
            String row = inDatabase.get(size);
            if (row == null) {
                return new Mismatch(size, "the audit bucket holds a checkpoint at tree size " + size
                        + " that the database does not (the database was rolled back, or its checkpoints deleted)");
            }
            String copy;
            try {
                copy = new String(store.getBytes(bucket, AuditCheckpoints.objectName(size)), StandardCharsets.UTF_8);
            } catch (ObjectStoreException e) {
                return new Mismatch(size, "the copy of the checkpoint at tree size " + size + " in the audit bucket "
                        + "cannot be read (" + e.getClass().getSimpleName() + ")");
            }
            if (!row.equals(copy)) {
                return new Mismatch(size, "the checkpoint at tree size " + size
                        + " differs between the database and the audit bucket (one of them was rewritten)");
            }
        }
        java.util.Set<Long> copies = new java.util.HashSet<>(copied);
        long newest = inDatabase.isEmpty() ? 0 : inDatabase.lastKey();
        for (Long size : inDatabase.keySet()) {
            if (!copies.contains(size) && !(size == newest && appears(size, inDatabase.get(size)))) {
                return new Mismatch(size, "the checkpoint at tree size " + size + " is in the database but not in the audit "
                        + "bucket (its copy was deleted, or the vault stopped while publishing it: a restart publishes it again)");
            }
        }
        return null;
    }

    private boolean appears(long size, String note) {
        for (int attempt = 0; attempt < 20; attempt++) {
            if (store.exists(bucket, AuditCheckpoints.objectName(size))) {
                return note.equals(new String(store.getBytes(bucket, AuditCheckpoints.objectName(size)), StandardCharsets.UTF_8));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    private static Result fail(String what, long position, TreeMap<Long, Checkpoint> checkpoints) {
        return new Result(false, "audit trail FAILED at position " + position + ": " + what, position, checkpoints.size());
    }

    /** Whether a row's content is some other position's event: the stored leaf hash names where it was recorded. */
    private static Optional<Long> belongsAt(Row row, List<Row> rows) {
        for (Row other : rows) {
            AuditLeaf moved = new AuditLeaf(other.seq(), row.leaf().recordedAt(), row.leaf().action(), row.leaf().outcome(),
                    row.leaf().subtype(), row.leaf().agentToken(), row.leaf().patientToken(), row.leaf().entityToken(),
                    row.leaf().envelope());
            if (other.seq() != row.seq() && MessageDigest.isEqual(moved.hash(), row.storedLeafHash())) {
                return Optional.of(other.seq());
            }
        }
        return Optional.empty();
    }
}
