package fr.hdsvault.api.security.smart;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.audit.AuditUnavailableException;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.SecurityProperties;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.api.web.TrustedProxies;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /auth/token}: the token endpoint of SMART Backend Services. A registered client
 * sends {@code grant_type=client_credentials}, the scopes it wants and its signed assertion
 * ({@link ClientAssertions}); it gets a five-minute access token of the vault's issuer with the
 * {@link Role#SERVICE} role and the system/ scopes it was granted. Errors are RFC 6749's (section
 * 5.2). Every request, granted or refused, is in the audit trail, recorded before the answer.
 * Served where the vault issues its own tokens; with an external identity provider, that
 * provider is the authorization server and this endpoint answers 404.
 */
@RestController
public class TokenEndpoint {

    public static final String PATH = "/auth/token";
    public static final String ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    /** SMART's recommendation for backend access tokens: short, since nothing revokes them. */
    public static final Duration TOKEN_LIFETIME = Duration.ofMinutes(5);
    private static final String AUDIT_OPERATION = "smart-token";

    private final ClientAssertions assertions;
    private final TokenIssuer issuer;
    private final boolean localIssuer;
    private final TrustedProxies proxies;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final Clock clock = Clock.systemUTC();

    public TokenEndpoint(ClientAssertions assertions, TokenIssuer issuer, SecurityProperties properties, TrustedProxies proxies,
                         AuditTrail trail, AuditEvents events) {
        this.assertions = assertions;
        this.issuer = issuer;
        this.localIssuer = !properties.oidc().external();
        this.proxies = proxies;
        this.trail = trail;
        this.events = events;
    }

    /** The URL clients must name in their assertion's {@code aud}: the public base's (configuration), never the request's Host. */
    public static String url(TrustedProxies proxies, HttpServletRequest request) {
        return proxies.publicBase(request) + PATH;
    }

    @PostMapping(PATH)
    public ResponseEntity<Map<String, Object>> token(HttpServletRequest request) {
        if (!localIssuer) {
            return error(HttpStatus.NOT_FOUND, "invalid_request", "Tokens are issued by the configured identity provider");
        }
        BackendClient client = null;
        try {
            requireForm(request);
            String grantType = single(request, "grant_type");
            if (!"client_credentials".equals(grantType)) {
                throw OAuthError.unsupportedGrantType("Only grant_type=client_credentials is supported here");
            }
            if (!ASSERTION_TYPE.equals(single(request, "client_assertion_type"))) {
                throw OAuthError.invalidRequest("client_assertion_type must be " + ASSERTION_TYPE);
            }
            String assertion = single(request, "client_assertion");
            String scope = single(request, "scope");
            if (assertion == null || assertion.isBlank()) {
                throw OAuthError.invalidRequest("client_assertion is required");
            }
            if (scope == null || scope.isBlank()) {
                throw OAuthError.invalidRequest("scope is required, e.g. system/*.rs");
            }
            client = assertions.verify(assertion, url(proxies, request));
            List<String> granted = client.grantable(scope);
            if (granted.isEmpty()) {
                throw OAuthError.invalidScope("None of the requested scopes is allowed for this client; it may ask for: "
                        + client.scopes());
            }
            String grantedScope = String.join(" ", granted);
            String token = issuer.issue(new TokenIssuer.Grant(client.id(), Role.SERVICE.claimValue(), grantedScope, null,
                    TOKEN_LIFETIME, client.id()));
            audit(client.id(), true, "access token issued to backend client " + client.id() + " for " + grantedScope,
                    TokenIssuer.jwtId(token));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("access_token", token);
            body.put("token_type", "bearer");
            body.put("expires_in", TOKEN_LIFETIME.toSeconds());
            body.put("scope", grantedScope);
            return ResponseEntity.ok().headers(noStore()).contentType(MediaType.APPLICATION_JSON).body(body);
        } catch (OAuthError e) {
            try {
                String requester = client != null ? client.id() : e.client() != null ? e.client() : "unauthenticated";
                audit(requester, false, "token request refused: " + e.code() + ": " + e.description(), "refused");
            } catch (AuditUnavailableException unrecorded) {
                return unavailable();
            }
            return error(HttpStatus.valueOf(e.status()), e.code(), e.description());
        } catch (AuditUnavailableException e) {
            return unavailable(); // nothing is handed out that was not recorded
        }
    }

    /** @param tokenId the issued token's {@code jti}, which ties the token to this event */
    private void audit(String requester, boolean success, String description, String tokenId) {
        trail.record(List.of(events.operation(AUDIT_OPERATION, requester, success, description, tokenId, clock.instant())));
    }

    private static void requireForm(HttpServletRequest request) {
        String type = request.getContentType();
        boolean form;
        try {
            form = type != null && MediaType.APPLICATION_FORM_URLENCODED.isCompatibleWith(MediaType.parseMediaType(type));
        } catch (org.springframework.http.InvalidMediaTypeException unreadable) {
            form = false;
        }
        if (!form) {
            throw OAuthError.invalidRequest("The token request must be application/x-www-form-urlencoded");
        }
    }

    /** A parameter given at most once (RFC 6749, section 3.2). */
    private static String single(HttpServletRequest request, String name) {
        String[] values = request.getParameterValues(name);
        if (values != null && values.length > 1) {
            throw OAuthError.invalidRequest(name + " is given more than once");
        }
        return values == null ? null : values[0];
    }

    private static HttpHeaders noStore() {
        HttpHeaders h = new HttpHeaders();
        h.setCacheControl("no-store");
        h.setPragma("no-cache");
        return h;
    }

    private static ResponseEntity<Map<String, Object>> unavailable() {
        return error(HttpStatus.SERVICE_UNAVAILABLE, "temporarily_unavailable",
                "The audit trail cannot record this request, so it was not served; retry later");
    }

    private static ResponseEntity<Map<String, Object>> error(HttpStatus status, String code,
                                                             String description) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("error_description", description);
        return ResponseEntity.status(status).headers(noStore()).contentType(MediaType.APPLICATION_JSON).body(body);
    }
}
