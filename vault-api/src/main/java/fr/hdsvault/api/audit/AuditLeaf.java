package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.tlog.MerkleTree;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;

/**
 * One audit row as a Merkle leaf: every stored column, and the SHA-256 of the sealed event, in
 * one canonical text (docs/audit.md). Changing any column, or the event, changes the leaf hash;
 * the sequence number inside it makes a swap of two rows visible.
 */
public record AuditLeaf(long seq, Instant recordedAt, String action, int outcome, String subtype, String agentToken,
                 String patientToken, String entityToken, byte[] envelope) {

    static final String VERSION = "hds-vault-audit-v1";

    public byte[] canonical() {
        byte[] envelopeHash;
        try {
            envelopeHash = MessageDigest.getInstance("SHA-256").digest(envelope);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return (VERSION + "\n" + seq + "\n" + recordedAt + "\n" + action + "\n" + outcome + "\n" + subtype + "\n"
                + nz(agentToken) + "\n" + nz(patientToken) + "\n" + nz(entityToken) + "\n"
                + Base64.getEncoder().encodeToString(envelopeHash) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    public byte[] hash() {
        return MerkleTree.leafHash(canonical());
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
