package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.crypto.sign.Ed25519;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code POST /admin/restitution/attest}, for operators: the vault attests a restitution archive's
 * manifest (the exact bytes, as the body), i.e. that this vault produced it, when, for whom: it
 * signs the manifest's SHA-256 with the audit key, and records the attestation in the trail. The
 * manifest lists every file of the archive with its SHA-256, so the signature covers them all
 * ({@code vault restitution verify} checks it offline).
 */
@RestController
public class RestitutionController {

    public static final String ATTESTATION_TYPE = "hds-vault restitution attestation";
    static final String SIGNING_CONTEXT = "hds-vault/restitution-attestation/v1\n";
    private static final int MAX_MANIFEST = 16 * 1024 * 1024;

    private final AuditTrail trail;
    private final AuditEvents events;
    private final Ed25519.SigningKey signer;
    private final VaultIdentity identity;

    public RestitutionController(AuditTrail trail, AuditEvents events, Ed25519.SigningKey auditSigningKey, VaultIdentity identity) {
        this.trail = trail;
        this.events = events;
        this.signer = auditSigningKey;
        this.identity = identity;
    }

    @PostMapping(path = "/admin/restitution/attest", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<String> attest(@RequestBody byte[] manifest) {
        if (manifest.length == 0 || manifest.length > MAX_MANIFEST) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "send the archive's manifest.json as the body");
        }
        String operator = AccessPolicy.currentCaller().subject();
        String digest = SignedStatement.sha256(manifest);
        Instant now = Clock.systemUTC().instant();
        trail.record(List.of(events.operation("restitution", operator, true, "restitution archive attested: manifest SHA-256 "
                + digest, digest, now)));
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("type", ATTESTATION_TYPE);
        fields.put("vault", identity.vaultId());
        fields.put("attestedAt", now.toString());
        fields.put("by", operator);
        fields.put("manifestSha256", digest);
        fields.put("auditSigningPublicKey", Base64.getEncoder().encodeToString(signer.publicKey()));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(SignedStatement.sign(SIGNING_CONTEXT, fields, signer)
                .toJson());
    }

    /**
     * Checks an attestation offline against the audit public key the reader holds, and that it
     * names this manifest.
     * @throws IllegalArgumentException when either does not hold
     */
    public static Map<String, Object> verify(String attestation, byte[] manifest, byte[] auditPublicKey) {
        Map<String, Object> fields = SignedStatement.verify(attestation, SIGNING_CONTEXT, ATTESTATION_TYPE, auditPublicKey);
        if (!SignedStatement.sha256(manifest).equals(fields.get("manifestSha256"))) {
            throw new IllegalArgumentException("the attestation is for another manifest: manifest.json was changed");
        }
        return fields;
    }
}
