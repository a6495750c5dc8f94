package fr.hdsvault.api.audit;

import fr.hdsvault.api.metrics.IntegrityFailures;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.crypto.tlog.MerkleTree;
import fr.hdsvault.crypto.tlog.PrunedTree;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code /admin/audit}, for auditors: the signed checkpoints, and inclusion and consistency
 * proofs (RFC 9162) that anyone can check offline with the checkpoint public key and
 * {@code MerkleTree.verifyInclusion} / {@code verifyConsistency} (docs/audit.md).
 */
@RestController
@RequestMapping("/admin/audit")
public class AuditAdminController {

    private final AuditTrail trail;
    private final AuditLog log;
    private final AuditCheckpoints checkpoints;
    private final AuditVerifier verifier;

    public AuditAdminController(AuditTrail trail, AuditLog log, AuditCheckpoints checkpoints, AuditVerifier verifier) {
        this.trail = trail;
        this.log = log;
        this.checkpoints = checkpoints;
        this.verifier = verifier;
    }

    /**
     * {@code vault audit verify} against the running vault: the same checks, on the live
     * database and the audit bucket's copies (checkpointed first, so that the latest events are
     * covered).
     */
    @GetMapping("/verify")
    public AuditVerifier.Result verify() {
        trail.checkpoint();
        return counted(verifier.verify());
    }

    /** The same, and that the trail grew from a checkpoint the auditor saved earlier (the note, as the request body). */
    @org.springframework.web.bind.annotation.PostMapping(path = "/verify", consumes = "text/plain")
    public AuditVerifier.Result verifyFrom(@org.springframework.web.bind.annotation.RequestBody String trustedCheckpoint) {
        trail.checkpoint();
        return counted(verifier.verify(trustedCheckpoint));
    }

    private static AuditVerifier.Result counted(AuditVerifier.Result result) {
        if (!result.ok()) {
            IntegrityFailures.count(IntegrityFailures.Kind.AUDIT);
        }
        return result;
    }

    public record CheckpointView(long treeSize, String rootHash, String createdAt, String note) {
    }

    public record InclusionProof(long leafIndex, long treeSize, String leafHash, String rootHash, List<String> proof) {
    }

    public record ConsistencyProof(long first, long second, String firstRoot, String secondRoot, List<String> proof) {
    }

    /**
     * The trail's rows [from, to) with their events, at most 1000 at a time, for a restitution
     * archive: each row's columns and sealed event rebuild its leaf, so that the leaves, with the
     * peaks of what retention pruned, give the root a signed checkpoint names, offline.
     */
    @GetMapping("/leaves")
    public Map<String, Object> leaves(@RequestParam("from") long from, @RequestParam("to") long to) {
        if (from < 0 || to < from || to - from > 1000) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "give 0 <= from <= to, at most 1000 rows at a time");
        }
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        CompactRange pruned = log.prunedPrefix();
        out.put("prunedSize", pruned.size());
        out.put("prunedPeaks", pruned.peaks().stream().map(h -> Base64.getEncoder().encodeToString(h)).toList());
        out.put("leaves", log.leaves(Math.max(from, pruned.size()), to).stream().map(l -> {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            AuditLeaf leaf = l.leaf();
            m.put("seq", leaf.seq());
            m.put("recordedAt", leaf.recordedAt().toString());
            m.put("action", leaf.action());
            m.put("outcome", leaf.outcome());
            m.put("subtype", leaf.subtype());
            m.put("agentToken", leaf.agentToken());
            m.put("patientToken", leaf.patientToken());
            m.put("entityToken", leaf.entityToken());
            m.put("envelope", Base64.getEncoder().encodeToString(leaf.envelope()));
            m.put("event", l.eventJson());
            return m;
        }).toList());
        return out;
    }

    @GetMapping("/checkpoints")
    public List<CheckpointView> checkpoints(@RequestParam(name = "limit", defaultValue = "100") int limit) {
        return checkpoints.list(limit).stream().map(AuditAdminController::view).toList();
    }

    /** The audit path of an event; events pruned by retention have none once their siblings are gone too (400). */
    @GetMapping("/proof/inclusion")
    public InclusionProof inclusion(@RequestParam("index") long index, @RequestParam("treeSize") long treeSize) {
        PrunedTree tree = tree(treeSize);
        if (index < 0 || index >= treeSize) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "index must be in [0, treeSize)");
        }
        try {
            return new InclusionProof(index, treeSize, b64(tree.hash(index, index + 1)), b64(MerkleTree.root(tree, treeSize)),
                    MerkleTree.inclusionProof(tree, index, treeSize).stream().map(AuditAdminController::b64).toList());
        } catch (IllegalArgumentException pruned) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "event " + index + " was pruned by retention (events before "
                    + tree.prunedSize() + " are gone; their checkpoints remain)");
        }
    }

    @GetMapping("/proof/consistency")
    public ConsistencyProof consistency(@RequestParam("first") long first, @RequestParam("second") long second) {
        if (first < 1 || first > second) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "need 1 <= first <= second");
        }
        PrunedTree tree = tree(second);
        try {
            return new ConsistencyProof(first, second, b64(MerkleTree.root(tree, first)), b64(MerkleTree.root(tree, second)),
                    MerkleTree.consistencyProof(tree, first, second).stream().map(AuditAdminController::b64).toList());
        } catch (IllegalArgumentException pruned) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "the tree of " + first + " events was pruned by retention "
                    + "(events before " + tree.prunedSize() + " are gone)");
        }
    }

    private PrunedTree tree(long treeSize) {
        if (treeSize < 1 || treeSize > trail.size()) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "treeSize must be in [1, " + trail.size() + "]");
        }
        return log.tree(treeSize);
    }

    private static CheckpointView view(Map<String, Object> row) {
        Object created = value(row, "created_at");
        return new CheckpointView(((Number) value(row, "tree_size")).longValue(), b64((byte[]) value(row, "root_hash")),
                created instanceof OffsetDateTime t ? t.toInstant().toString() : String.valueOf(created), (String) value(row, "note"));
    }

    private static Object value(Map<String, Object> row, String column) {
        return AuditCheckpoints.value(row, column);
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }
}
