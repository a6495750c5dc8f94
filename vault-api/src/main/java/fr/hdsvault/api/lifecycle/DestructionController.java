package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.security.AccessPolicy;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code POST /admin/destroy}, for operators (SecurityConfig): the end of a contract, every record
 * destroyed ({@link VaultDestruction}); body {@code {"confirm": "<the vault's id>", "reason": "..."}}.
 * Answers the signed certificate of destruction. The request's own AuditEvent and the
 * destruction's are in the trail, which stays.
 */
@RestController
public class DestructionController {

    private final VaultDestruction destruction;
    private final VaultIdentity identity;

    public DestructionController(VaultDestruction destruction, VaultIdentity identity) {
        this.destruction = destruction;
        this.identity = identity;
    }

    @PostMapping("/admin/destroy")
    public synchronized ResponseEntity<String> destroy(@RequestBody Map<String, Object> body) {
        String operator = AccessPolicy.currentCaller().subject();
        if (!identity.vaultId().equals(body.get("confirm"))) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "confirm must be this vault's id (DIR/vault-id): destroying every record cannot be undone");
        }
        String reason = ErasureController.requireReason(body);
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(destruction.destroy(operator, reason).toJson());
    }
}
