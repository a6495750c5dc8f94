package fr.hdsvault.api.keys;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.crypto.Keyring;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code /admin/keys/root}, for operators (SecurityConfig): where the root key lives and its
 * version; rotation, which creates a new root key version in the provider (inside the HSM for a
 * PKCS#11 token) and rewraps every key-encryption key under it. Record bodies are untouched:
 * they are sealed under data keys that the KEKs wrap. Old root versions stay in the provider,
 * since older backup sets hold registries wrapped under them. Each rotation is audited.
 */
@RestController
public class KeyAdminController {

    private static final Logger log = LoggerFactory.getLogger(KeyAdminController.class);

    private final Keyring keyring;
    private final AuditTrail trail;
    private final AuditEvents events;

    public KeyAdminController(Keyring keyring, AuditTrail trail, AuditEvents events) {
        this.keyring = keyring;
        this.trail = trail;
        this.events = events;
    }

    @GetMapping("/admin/keys/root")
    public Map<String, Object> root() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("provider", keyring.rootKeyProvider().description());
        r.put("currentVersion", keyring.rootKeyProvider().currentVersion());
        return r;
    }

    /** Rotates the root key; the answer says how many KEKs were rewrapped (and destroyed ones skipped). */
    @PostMapping("/admin/keys/root/rotate")
    public synchronized Map<String, Object> rotateRoot() {
        String requester = AccessPolicy.currentCaller().subject();
        Keyring.RootRotation rotation;
        try {
            rotation = keyring.rotateRootKey();
        } catch (RuntimeException e) {
            trail.record(List.of(events.operation("root-key-rotation", requester, false,
                    "root key rotation failed: " + e.getClass().getSimpleName(), "failed", Clock.systemUTC().instant())));
            throw e;
        }
        String description = "root key rotated to version " + rotation.newRootKeyVersion() + " in "
                + keyring.rootKeyProvider().description() + ": " + rotation.rewrapped() + " keys rewrapped, "
                + rotation.skippedDestroyed() + " destroyed keys skipped";
        trail.record(List.of(events.operation("root-key-rotation", requester, true, description,
                "v" + rotation.newRootKeyVersion(), Clock.systemUTC().instant())));
        log.info(description);
        Map<String, Object> r = new LinkedHashMap<>(root());
        r.put("rewrapped", rotation.rewrapped());
        r.put("skippedDestroyed", rotation.skippedDestroyed());
        return r;
    }
}
