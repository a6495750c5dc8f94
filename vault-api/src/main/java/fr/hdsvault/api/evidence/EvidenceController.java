package fr.hdsvault.api.evidence;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.lifecycle.SignedStatement;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.crypto.sign.Ed25519;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code POST /admin/audit/evidence}, for auditors (the security officer): runs the vault's own
 * checks ({@link VaultEvidence}), adds the checks a client made from outside (TLS, access
 * control, traceability; body {@code {"target": URL, "checks": [...]}}, optional), signs the
 * report with the audit key, records its SHA-256 in the audit trail and answers the signed file.
 * One report at a time per node: the detection check raises a test alert.
 */
@RestController
public class EvidenceController {

    private static final Logger log = LoggerFactory.getLogger(EvidenceController.class);

    private final VaultEvidence evidence;
    private final VaultIdentity identity;
    private final Ed25519.SigningKey auditSigningKey;
    private final AuditTrail trail;
    private final AuditEvents events;

    public EvidenceController(VaultEvidence evidence, VaultIdentity identity, Ed25519.SigningKey auditSigningKey, AuditTrail trail,
                              AuditEvents events) {
        this.evidence = evidence;
        this.identity = identity;
        this.auditSigningKey = auditSigningKey;
        this.trail = trail;
        this.events = events;
    }

    @PostMapping(path = "/admin/audit/evidence", produces = MediaType.APPLICATION_JSON_VALUE)
    public synchronized ResponseEntity<String> report(@RequestBody(required = false) Map<String, Object> body) {
        String requester = AccessPolicy.currentCaller().subject();
        List<EvidenceCheck> checks = new ArrayList<>();
        Object target = body == null ? null : body.get("target");
        try {
            if (target != null && !(target instanceof String s && s.length() <= 300)) {
                throw new IllegalArgumentException("target must be the URL the client checked");
            }
            if (body != null && body.get("checks") instanceof List<?> reported) {
                for (Object c : reported) {
                    if (!(c instanceof Map<?, ?> m)) {
                        throw new IllegalArgumentException("each reported check must be an object");
                    }
                    EvidenceCheck check = EvidenceReport.fromClient(m);
                    if (checks.stream().anyMatch(k -> k.id().equals(check.id()))) {
                        throw new IllegalArgumentException("the " + check.id() + " check is reported twice");
                    }
                    checks.add(check);
                }
            }
        } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, e instanceof IllegalArgumentException ? e.getMessage()
                    : "a check's checkedAt must be an ISO-8601 instant");
        }
        checks.addAll(evidence.run(requester));
        Instant now = Clock.systemUTC().instant();
        Map<String, Object> fields = EvidenceReport.fields(identity.vaultId(), requester, (String) target, now, checks);
        SignedStatement signed = EvidenceReport.sign(fields, auditSigningKey);
        String digest = EvidenceReport.digest(signed);
        boolean all = Boolean.TRUE.equals(fields.get("allPassed"));
        String summary = "evidence report: " + fields.get("passed") + " of " + checks.size() + " checks passed, sha256 " + digest;
        trail.record(List.of(events.operation("evidence-report", requester, all, summary, digest, now)));
        log.info(summary);
        return ResponseEntity.ok(signed.toJson());
    }
}
