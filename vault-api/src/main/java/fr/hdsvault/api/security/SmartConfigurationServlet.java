package fr.hdsvault.api.security;

import com.nimbusds.jose.util.JSONObjectUtils;
import fr.hdsvault.api.security.smart.ClientAssertions;
import fr.hdsvault.api.security.smart.TokenEndpoint;
import fr.hdsvault.api.web.TrustedProxies;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code [base]/.well-known/smart-configuration} (SMART App Launch v2), public: what a client
 * needs to find the authorization server and which scopes the vault understands. Where the vault
 * issues its own tokens, people's tokens come from {@code vault token} (no authorization
 * endpoint is announced), backend clients get theirs from the token endpoint (SMART Backend
 * Services, {@code security.smart.TokenEndpoint}), and the issuer's public keys are published at
 * {@code /.well-known/jwks.json}. Only what the vault does is announced.
 */
final class SmartConfigurationServlet extends HttpServlet {

    static final String FHIR_PATH = "/fhir/.well-known/smart-configuration";
    static final String ROOT_PATH = "/.well-known/smart-configuration";
    static final String JWKS_PATH = "/.well-known/jwks.json";

    private final String singleNode;
    private final transient TokenIssuer.VerificationKeys singleNodeKeys;
    private final transient SecurityProperties.Oidc oidc;
    private final transient TrustedProxies proxies;

    /** @param singleNode the local issuer's name, or null when an external OpenID Connect provider issues tokens */
    SmartConfigurationServlet(String singleNode, TokenIssuer.VerificationKeys singleNodeKeys, SecurityProperties properties,
                              TrustedProxies proxies) {
        this.singleNode = singleNode;
        this.singleNodeKeys = singleNodeKeys;
        this.oidc = properties.oidc();
        this.proxies = proxies;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String json;
        if (request.getRequestURI().equals(JWKS_PATH)) {
            if (singleNode == null) { // the provider publishes its own keys
                response.setStatus(HttpServletResponse.SC_NOT_FOUND);
                return;
            }
            json = singleNodeKeys.publicSet().toString(true);
        } else {
            json = JSONObjectUtils.toJSONString(configuration(request));
        }
        response.setContentType("application/json");
        response.setCharacterEncoding(StandardCharsets.UTF_8.name());
        response.getWriter().write(json);
    }

    private Map<String, Object> configuration(HttpServletRequest request) {
        String origin = proxies.publicBase(request).toString(); // configuration, never the request's Host
        Map<String, Object> c = new LinkedHashMap<>();
        List<String> scopes = new java.util.ArrayList<>(List.of("openid", "fhirUser", "launch/patient", "patient/*.rs",
                "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs"));
        if (singleNode != null) {
            c.put("issuer", singleNode);
            c.put("jwks_uri", origin + JWKS_PATH);
            c.put("token_endpoint", TokenEndpoint.url(proxies, request));
            c.put("grant_types_supported", List.of("client_credentials"));
            c.put("token_endpoint_auth_methods_supported", List.of("private_key_jwt"));
            c.put("token_endpoint_auth_signing_alg_values_supported",
                    ClientAssertions.ALGORITHMS.stream().map(Object::toString).sorted().toList());
            scopes.add("system/*.read"); // backend clients read; v1 and v2 spellings
        } else {
            putIfSet(c, "issuer", oidc.issuerUri());
            putIfSet(c, "jwks_uri", oidc.jwkSetUri());
            putIfSet(c, "authorization_endpoint", oidc.authorizationEndpoint());
            putIfSet(c, "token_endpoint", oidc.tokenEndpoint());
            c.put("grant_types_supported", List.of("authorization_code", "client_credentials"));
            c.put("response_types_supported", List.of("code"));
            c.put("code_challenge_methods_supported", List.of("S256"));
            c.put("token_endpoint_auth_methods_supported", List.of("private_key_jwt"));
        }
        if (singleNode == null) {
            scopes.add("system/*.cruds"); // the provider decides what its clients get
        }
        c.put("scopes_supported", scopes);
        List<String> capabilities = new java.util.ArrayList<>(List.of("permission-v1", "permission-v2",
                "permission-patient", "permission-user", "client-confidential-asymmetric"));
        if (singleNode == null) { // launching needs the provider's authorization endpoint
            capabilities.addAll(List.of("launch-standalone", "context-standalone-patient"));
        }
        c.put("capabilities", capabilities);
        return c;
    }

    private static void putIfSet(Map<String, Object> map, String key, String value) {
        if (SecurityProperties.notBlank(value)) {
            map.put(key, value);
        }
    }
}
