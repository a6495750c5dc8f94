package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.json.JsonMapper;

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
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The signed certificate: {@code certificate} is the exact signed text (JSON), {@code signature} its Ed25519 signature. */
    public record Certificate(String certificate, String signature) {
        public String toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("certificate", certificate);
            m.put("signature", signature);
            return JSON.writeValueAsString(m);
        }
    }

    private final JdbcTemplate jdbc;
    private final PatientErasure erasure;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final Ed25519.SigningKey signer;
    private final String vaultId;
    private final String tenant;
    private final Clock clock;

    public VaultDestruction(JdbcTemplate jdbc, PatientErasure erasure, AuditTrail trail, AuditEvents events, Ed25519.SigningKey signer,
                            String vaultId, String tenant, Clock clock) {
        this.jdbc = jdbc;
        this.erasure = erasure;
        this.trail = trail;
        this.events = events;
        this.signer = signer;
        this.vaultId = vaultId;
        this.tenant = tenant;
        this.clock = clock;
    }

    /** Destroys every record; {@code reason} is kept only as its SHA-256 (it may name people). */
    public Certificate destroy(String by, String reason) {
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
        Instant finished = clock.instant();
        String summary = "vault destroyed: " + keys.size() + " keys destroyed, " + versions + " resource versions and " + deleted
                + " objects removed" + (left == 0 ? "" : ", " + left + " objects left in the store unreadable");
        trail.record(List.of(events.operation("vault-destruction", by, true, summary, vaultId, finished)));
        String checkpoint = trail.checkpoint(); // covers the destruction's own record
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("type", CERTIFICATE_TYPE);
        c.put("vault", vaultId);
        c.put("startedAt", started.toString());
        c.put("finishedAt", finished.toString());
        c.put("by", by);
        c.put("reasonSha256", sha256(reason));
        c.put("keysDestroyed", new ArrayList<>(keys));
        c.put("resourceVersionsRemoved", versions);
        c.put("objectsDeleted", deleted);
        c.put("objectsLeftUnreadable", left);
        c.put("backups", "every key above is listed as erased in the backup store: no restore, drill or verify opens its data");
        c.put("auditCheckpoint", checkpoint);
        c.put("auditSigningPublicKey", Base64.getEncoder().encodeToString(signer.publicKey()));
        String text = JSON.writeValueAsString(c);
        return new Certificate(text, Base64.getEncoder().encodeToString(signer.sign(signed(text))));
    }

    /**
     * Checks a certificate offline: its signature under {@code auditPublicKey} (the one the
     * auditors hold, not the one the certificate names) and its type.
     * @return the certificate's fields
     * @throws IllegalArgumentException when it is not a valid certificate of that key
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> verify(String certificateJson, byte[] auditPublicKey) {
        Map<String, Object> file;
        byte[] signature;
        try {
            file = JSON.readValue(certificateJson, Map.class);
            signature = Base64.getDecoder().decode((String) file.get("signature"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a destruction certificate file");
        }
        Object text = file.get("certificate");
        if (!(text instanceof String signed)
                || !Ed25519.verify(auditPublicKey, signed(signed), signature)) {
            throw new IllegalArgumentException("the certificate's signature does not verify with this audit public key");
        }
        Map<String, Object> fields = JSON.readValue(signed, Map.class);
        if (!CERTIFICATE_TYPE.equals(fields.get("type"))) {
            throw new IllegalArgumentException("signed, but not a destruction certificate");
        }
        return fields;
    }

    private static byte[] signed(String certificate) {
        return (SIGNING_CONTEXT + certificate).getBytes(StandardCharsets.UTF_8);
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
