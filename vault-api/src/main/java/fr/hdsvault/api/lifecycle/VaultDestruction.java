package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The end of a contract: every record of the vault destroyed and the destruction proven. Every
 * compartment's key is erased as one patient's is ({@link PatientErasure#eraseKey}): listed as
 * erased apart from the backup sets, destroyed (crypto-shredding: no copy of the records, live
 * or in any backup, opens again through the vault), its index rows and objects removed. The audit trail is kept: it is the proof. The destruction is
 * recorded in it, a checkpoint is published over that record, and a certificate (what was
 * destroyed, when, by whom, the key ids, that checkpoint) is signed with the audit signing key,
 * whose public key auditors already hold: {@link #verify} checks it offline.
 */
public final class VaultDestruction {

    public static final String CERTIFICATE_TYPE = "hds-vault destruction certificate";
    /** Signed before the text: the audit key also signs checkpoints, and a signature of one must never pass for the other. */
    private static final String SIGNING_CONTEXT = "hds-vault/destruction-certificate/v1\n";

    private final JdbcTemplate jdbc;
    private final PatientErasure erasure;
    private final Keyring keyring;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final Ed25519.SigningKey signer;
    private final String vaultId;
    private final String tenant;
    private final Clock clock;

    public VaultDestruction(JdbcTemplate jdbc, PatientErasure erasure, Keyring keyring, AuditTrail trail, AuditEvents events,
                            Ed25519.SigningKey signer, String vaultId, String tenant, Clock clock) {
        this.jdbc = jdbc;
        this.keyring = keyring;
        this.erasure = erasure;
        this.trail = trail;
        this.events = events;
        this.signer = signer;
        this.vaultId = vaultId;
        this.tenant = tenant;
        this.clock = clock;
    }

    /** Destroys every record; {@code reason} is kept only as its SHA-256 (it may name people). */
    public SignedStatement destroy(String by, String reason) {
        Instant started = clock.instant();
        List<String> keys = jdbc.queryForList("select distinct kek_id from compartment_kek where tenant = ? order by kek_id",
                String.class, tenant);
        long versions = 0;
        long deleted = 0;
        long left = 0;
        for (String kek : keys) {
            PatientErasure.Result erased = erasure.eraseKey(kek);
            versions += erased.versionsRemoved();
            deleted += erased.objectsDeleted();
            left += erased.objectsNotDeleted();
        }
        // Bulk export files hold many patients' data under a key of their own: shredded too; their objects go with the
        // runner's clean-up of ended exports.
        List<String> exportKeys = jdbc.queryForList("select kek_id from export_job where status <> 'expired' order by kek_id",
                String.class);
        exportKeys.forEach(keyring::destroyKek);
        jdbc.update("update export_job set status = 'expired', lease_owner = null, lease_until = null where status <> 'expired'");
        Instant finished = clock.instant();
        String summary = "vault destroyed: " + keys.size() + " keys and " + exportKeys.size() + " export keys destroyed, " + versions + " resource versions and " + deleted
                + " objects removed" + (left == 0 ? "" : ", " + left + " objects left in the store unreadable");
        trail.record(List.of(events.operation("vault-destruction", by, true, summary, vaultId, finished)));
        String checkpoint = trail.checkpoint(); // covers the destruction's own record
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("type", CERTIFICATE_TYPE);
        c.put("vault", vaultId);
        c.put("startedAt", started.toString());
        c.put("finishedAt", finished.toString());
        c.put("by", by);
        c.put("reasonSha256", SignedStatement.sha256(reason.getBytes(StandardCharsets.UTF_8)));
        c.put("keysDestroyed", new ArrayList<>(keys));
        c.put("exportKeysDestroyed", exportKeys);
        c.put("resourceVersionsRemoved", versions);
        c.put("objectsDeleted", deleted);
        c.put("objectsLeftUnreadable", left);
        c.put("backups", "every key above is listed as erased in the backup store: no restore, drill or verify opens its data");
        c.put("auditCheckpoint", checkpoint);
        c.put("auditSigningPublicKey", Base64.getEncoder().encodeToString(signer.publicKey()));
        return SignedStatement.sign(SIGNING_CONTEXT, c, signer);
    }

    /**
     * Checks a certificate offline: its signature under {@code auditPublicKey} (the one the
     * auditors hold, not the one the certificate names) and its type.
     * @return the certificate's fields
     * @throws IllegalArgumentException when it is not a valid certificate of that key
     */
    public static Map<String, Object> verify(String certificateJson, byte[] auditPublicKey) {
        return SignedStatement.verify(certificateJson, SIGNING_CONTEXT, CERTIFICATE_TYPE, auditPublicKey);
    }
}
