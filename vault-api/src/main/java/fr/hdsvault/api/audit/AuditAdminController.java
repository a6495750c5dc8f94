package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.MerkleTree;
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
    private final AuditVerifier verifier;

    public AuditAdminController(AuditTrail trail, AuditVerifier verifier) {
        this.trail = trail;
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
        return verifier.verify();
    }

    public record CheckpointView(long treeSize, String rootHash, String createdAt, String note) {
    }

    public record InclusionProof(long leafIndex, long treeSize, String leafHash, String rootHash, List<String> proof) {
    }

    public record ConsistencyProof(long first, long second, String firstRoot, String secondRoot, List<String> proof) {
    }

    @GetMapping("/checkpoints")
    public List<CheckpointView> checkpoints(@RequestParam(name = "limit", defaultValue = "100") int limit) {
        return trail.checkpoints(limit).stream().map(AuditAdminController::view).toList();
    }

    @GetMapping("/proof/inclusion")
    public InclusionProof inclusion(@RequestParam("index") long index, @RequestParam("treeSize") long treeSize) {
        List<byte[]> leaves = leaves(treeSize);
        if (index < 0 || index >= treeSize) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "index must be in [0, treeSize)");
        }
        return new InclusionProof(index, treeSize, b64(leaves.get((int) index)), b64(MerkleTree.root(leaves)),
                MerkleTree.inclusionProof(leaves, index, treeSize).stream().map(AuditAdminController::b64).toList());
    }

    @GetMapping("/proof/consistency")
    public ConsistencyProof consistency(@RequestParam("first") long first, @RequestParam("second") long second) {
        if (first < 1 || first > second) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "need 1 <= first <= second");
        }
        List<byte[]> leaves = leaves(second);
        return new ConsistencyProof(first, second, b64(MerkleTree.root(leaves.subList(0, (int) first))), b64(MerkleTree.root(leaves)),
                MerkleTree.consistencyProof(leaves, first, second).stream().map(AuditAdminController::b64).toList());
    }

    private List<byte[]> leaves(long treeSize) {
        if (treeSize < 1 || treeSize > trail.size()) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "treeSize must be in [1, " + trail.size() + "]");
        }
        return trail.leafHashes(treeSize);
    }

    private static CheckpointView view(Map<String, Object> row) {
        Object created = value(row, "created_at");
        return new CheckpointView(((Number) value(row, "tree_size")).longValue(), b64((byte[]) value(row, "root_hash")),
                created instanceof OffsetDateTime t ? t.toInstant().toString() : String.valueOf(created), (String) value(row, "note"));
    }

    private static Object value(Map<String, Object> row, String column) {
        return row.containsKey(column) ? row.get(column) : row.get(column.toUpperCase(java.util.Locale.ROOT));
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }
}
