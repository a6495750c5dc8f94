package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.audit.AuditContext;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.security.AccessPolicy;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code POST /admin/patients/{id}/erase}, for operators (SecurityConfig), who carry out an
 * erasure the data controller decided (docs/access-control.md): body
 * {@code {"confirm": "<the same id>", "reason": "..."}}. Irreversible, so the id is typed twice
 * and a reason is required; both the refusal and the erasure are in the audit trail (the
 * request's own event names the patient; the operation's, the destroyed key).
 */
@RestController
public class ErasureController {

    private static final String AUDIT_OPERATION = "patient-erasure";
    private static final int MAX_REASON = 500;

    private final PatientErasure erasure;
    private final AuditTrail trail;
    private final AuditEvents events;

    public ErasureController(PatientErasure erasure, AuditTrail trail, AuditEvents events) {
        this.erasure = erasure;
        this.trail = trail;
        this.events = events;
    }

    /** The reason an irreversible operation must be given (1 to 500 characters). */
    static String requireReason(Map<String, Object> body) {
        Object reason = body.get("reason");
        if (!(reason instanceof String r) || r.isBlank() || r.length() > MAX_REASON) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "a reason of 1 to " + MAX_REASON + " characters is required");
        }
        return r;
    }

    @PostMapping("/admin/patients/{id}/erase")
    public synchronized Map<String, Object> erase(@PathVariable("id") String id, @RequestBody Map<String, Object> body,
                                                  HttpServletRequest request) {
        String operator = AccessPolicy.currentCaller().subject();
        if (FhirIds.valid(id)) { // the request's own event is then found by the patient, as any access to it
            AuditContext.of(request).ifPresent(audit -> audit.touched("Patient/" + id, "Patient/" + id));
        }
        if (!id.equals(body.get("confirm"))) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "confirm must repeat the patient id: an erasure cannot be undone");
        }
        requireReason(body);
        PatientErasure.Result result;
        try {
            result = erasure.erase(id).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
                    "Nothing was ever stored for this patient"));
        } catch (IllegalArgumentException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        // The key, the counts and who: the reason may name the patient or its condition, so it stays in the request's own event.
        trail.record(List.of(events.operation(AUDIT_OPERATION, operator, true, "patient compartment erased: key " + result.kekId()
                + " destroyed (" + result.keyVersionsDestroyed() + " versions), " + result.versionsRemoved() + " resource versions and "
                + result.objectsDeleted() + " objects removed", result.kekId(), Clock.systemUTC().instant())));
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("erased", "Patient/" + id);
        answer.put("keyId", result.kekId());
        answer.put("keyVersionsDestroyed", result.keyVersionsDestroyed());
        answer.put("versionsRemoved", result.versionsRemoved());
        answer.put("objectsDeleted", result.objectsDeleted());
        answer.put("objectsNotDeleted", result.objectsNotDeleted());
        return answer;
    }
}
