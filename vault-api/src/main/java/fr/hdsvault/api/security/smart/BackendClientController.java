package fr.hdsvault.api.security.smart;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.security.AccessPolicy;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code /admin/clients}, for operators (SecurityConfig): registers SMART backend clients with
 * their public keys and allowed scopes, lists them, disables them. Each change is an audited
 * operation naming the client and the operator (beside the request's own AuditEvent).
 */
@RestController
public class BackendClientController {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String AUDIT_OPERATION = "backend-client";

    private final BackendClients clients;
    private final AuditTrail trail;
    private final AuditEvents events;

    public BackendClientController(BackendClients clients, AuditTrail trail, AuditEvents events) {
        this.clients = clients;
        this.trail = trail;
        this.events = events;
    }

    /** Body: {@code {"clientId": ..., "scope": "system/*.rs", "jwks": {"keys": [...]}}} or {@code "jwksUrl": "https://..."} instead of jwks. */
    @PostMapping("/admin/clients")
    public ResponseEntity<Map<String, Object>> register(@RequestBody Map<String, Object> body) {
        String operator = AccessPolicy.currentCaller().subject();
        String id = text(body, "clientId");
        Object jwks = body.get("jwks");
        BackendClient client;
        try {
            client = clients.register(id, jwks == null ? null : JSON.writeValueAsString(jwks), text(body, "jwksUrl"),
                    text(body, "scope"), operator);
        } catch (IllegalArgumentException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, e.getMessage());
        } catch (IllegalStateException e) {
            throw new ResponseStatusException(HttpStatus.CONFLICT, e.getMessage());
        }
        trail.record(List.of(events.operation(AUDIT_OPERATION, operator, true, "backend client " + client.id()
                + " registered with scopes " + client.scopes(), client.id(), Clock.systemUTC().instant())));
        return ResponseEntity.status(HttpStatus.CREATED).body(summary(client));
    }

    @GetMapping("/admin/clients")
    public List<Map<String, Object>> list() {
        return clients.list().stream().map(BackendClientController::summary).toList();
    }

    @PostMapping("/admin/clients/{id}/disable")
    public Map<String, Object> disable(@PathVariable("id") String id) {
        String operator = AccessPolicy.currentCaller().subject();
        BackendClient before = clients.find(id).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
                "No client is registered with this id"));
        if (clients.disable(id)) {
            trail.record(List.of(events.operation(AUDIT_OPERATION, operator, true, "backend client " + before.id() + " disabled",
                    before.id(), Clock.systemUTC().instant())));
        }
        return summary(clients.find(id).orElseThrow());
    }

    private static String text(Map<String, Object> body, String name) {
        Object value = body.get(name);
        if (value != null && !(value instanceof String)) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, name + " must be a string");
        }
        return (String) value;
    }

    /** What an operator sees of a client: never more than its public key ids. */
    private static Map<String, Object> summary(BackendClient c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clientId", c.id());
        m.put("scope", c.scopes());
        if (c.jwksUrl() != null) {
            m.put("jwksUrl", c.jwksUrl());
        } else {
            try {
                m.put("keyIds", com.nimbusds.jose.jwk.JWKSet.parse(c.jwks()).getKeys().stream()
                        .map(k -> k.getKeyID() == null ? "(no kid)" : k.getKeyID()).toList());
            } catch (java.text.ParseException e) {
                m.put("keyIds", List.of());
            }
        }
        m.put("registeredAt", c.registeredAt().toString());
        m.put("registeredBy", c.registeredBy());
        m.put("enabled", c.enabled());
        if (!c.enabled()) {
            m.put("disabledAt", c.disabledAt().toString());
        }
        return m;
    }
}
