package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.Checkpoint;
import fr.hdsvault.crypto.tlog.CompactRange;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Recomputes the audit tree from the stored events and checks it against every signed
 * checkpoint, those in the database and the copies in the audit bucket. Needs no key but the
 * checkpoint public key: an auditor can run it on a copy of the database. Reports the first
 * divergent position and what is wrong there (modified, missing, reordered, truncated, or a
 * checkpoint that its key did not sign).
 */
public final class AuditVerifier {

    /** The outcome: ok, and a one-line summary or the first problem found. */
    public record Result(boolean ok, String message, long events, int checkpoints) {
    }

    private record Row(long seq, AuditLeaf leaf, byte[] storedLeafHash) {
    }

    private final JdbcTemplate jdbc;
    private final byte[] publicKey;
    private final String keyName;
    private final Path storeCopies;

    /**
     * @param storeCopies the directory holding the audit bucket's checkpoint objects (the embedded
     *                    store's files), or null to check the database's checkpoints only
     */
    public AuditVerifier(JdbcTemplate jdbc, byte[] publicKey, String keyName, Path storeCopies) {
        this.jdbc = jdbc;
        this.publicKey = publicKey.clone();
        this.keyName = keyName;
        this.storeCopies = storeCopies;
    }

    public Result verify() {
        TreeMap<Long, Checkpoint> checkpoints = new TreeMap<>();
        for (Map.Entry<Long, String> note : notes().entrySet()) {
            Optional<Checkpoint> cp = Checkpoint.verify(note.getValue(), keyName, publicKey);
            if (cp.isEmpty() || cp.get().size() != note.getKey()) {
                return new Result(false, "checkpoint at tree size " + note.getKey()
                        + ": its signature does not verify with the trusted public key (forged or re-signed)", 0, 0);
            }
            checkpoints.put(note.getKey(), cp.get());
        }
        List<Row> rows = jdbc.query("select seq, recorded_at, action, outcome, subtype, agent_token, patient_token, entity_token, "
                + "envelope, leaf_hash from audit_event order by seq", (rs, n) -> new Row(rs.getLong(1),
                new AuditLeaf(rs.getLong(1), rs.getObject(2, OffsetDateTime.class).toInstant(), rs.getString(3), rs.getInt(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getBytes(9)), rs.getBytes(10)));
        CompactRange tree = new CompactRange();
        Optional<CompactRange> pruned = AuditTrail.prunedPrefix(jdbc);
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
        }
        long end = tree.size();
        if (!checkpoints.isEmpty() && checkpoints.lastKey() > end) {
            return fail("the trail is truncated: the checkpoint at tree size " + checkpoints.lastKey() + " covers "
                    + checkpoints.lastKey() + " events, only " + end + " are stored or pruned", end, checkpoints);
        }
        String summary = "audit trail verified: " + end + " events (" + rows.size() + " stored"
                + (first > 0 ? ", " + first + " pruned by retention" : "") + "), " + checkpoints.size() + " signed checkpoints"
                + (checkpoints.isEmpty() ? "" : " (latest at tree size " + checkpoints.lastKey() + ", root "
                + Base64.getEncoder().encodeToString(checkpoints.lastEntry().getValue().rootHash()) + ")")
                + ", " + (end - (checkpoints.isEmpty() ? 0 : checkpoints.lastKey())) + " events after the latest checkpoint";
        return new Result(true, summary, end, checkpoints.size());
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

    /** Checkpoint notes by tree size: the database's, and the object store's copies (which survive a database rewrite). */
    private Map<Long, String> notes() {
        TreeMap<Long, String> notes = new TreeMap<>();
        jdbc.query("select tree_size, note from audit_checkpoint", rs -> {
            notes.put(rs.getLong(1), rs.getString(2));
        });
        if (storeCopies != null && Files.isDirectory(storeCopies)) {
            try (Stream<Path> files = Files.list(storeCopies)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    long size = Long.parseLong(f.getFileName().toString());
                    String copy = Files.readString(f, StandardCharsets.UTF_8);
                    String inDb = notes.putIfAbsent(size, copy);
                    if (inDb != null && !inDb.equals(copy)) {
                        notes.put(size, forgedOf(inDb, copy));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the checkpoint copies in " + storeCopies, e);
            } catch (NumberFormatException e) {
                // not a checkpoint object
            }
        }
        return notes;
    }

    /** Of two different notes for one size, the one that does not verify, so that the forgery is reported. */
    private String forgedOf(String a, String b) {
        return Checkpoint.verify(a, keyName, publicKey).isEmpty() ? a : b;
    }
}
