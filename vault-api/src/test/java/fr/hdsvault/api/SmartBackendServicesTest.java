package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/**
 * SMART Backend Services end to end on a running vault over HTTPS, with real keys and real
 * JWTs: an operator registers clients (RS384 and ES384), a client trades a signed assertion for
 * a five-minute system/ token that reads across patients and writes nothing; and every way an
 * attacker could try to get a token (replayed, expired, far-future, wrong audience, foreign key,
 * unsigned, HMAC, unknown or disabled client, scopes it was not given) is refused with RFC 6749's
 * error, and recorded.
 */
class SmartBackendServicesTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String operator;
    static String practitioner;
    static String auditor;
    static String tokenUrl;
    static RSAKey rsaClient;
    static ECKey ecClient;
    static String patientId;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"));
        TestTokens tokens = TestTokens.ofVault(vault.dataDir);
        operator = tokens.sign("ops-1", "operator", null, null);
        practitioner = tokens.sign("dr-1", "practitioner", "user/*.cruds", null);
        auditor = tokens.sign("audit-1", "auditor", null, null);
        tokenUrl = vault.base + "/auth/token";
        rsaClient = new RSAKeyGenerator(2048).keyID("rs-1").generate();
        ecClient = new ECKeyGenerator(Curve.P_384).keyID("es-1").generate();
        assertThat(register("exporter-rs", new JWKSet(rsaClient.toPublicJWK()), "system/*.rs").statusCode()).isEqualTo(201);
        assertThat(register("exporter-es", new JWKSet(ecClient.toPublicJWK()), "system/Patient.read system/Observation.rs")
                .statusCode()).isEqualTo(201);
        HttpResponse<String> created = vault.send("POST", "/fhir/Patient", practitioner,
                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Martin\"}]}");
        assertThat(created.statusCode()).isEqualTo(201);
        patientId = created.headers().firstValue("Location").orElseThrow().replaceAll(".*/Patient/([^/]+)/.*", "$1");
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.context.close();
        }
    }

    static HttpResponse<String> register(String id, JWKSet keys, String scope) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("clientId", id);
        body.put("scope", scope);
        body.put("jwks", keys.toJSONObject(false)); // as given: a private key must reach the vault to be refused
        return vault.client.send(HttpRequest.newBuilder(java.net.URI.create(vault.base + "/admin/clients"))
                .header("Authorization", "Bearer " + operator).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An assertion of {@code client}, valid for four minutes; {@code change} alters its claims before signing. */
    static String assertion(String client, JWK key, UnaryOperator<JWTClaimsSet.Builder> change) throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = change.apply(new JWTClaimsSet.Builder().issuer(client).subject(client).audience(tokenUrl)
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(4)))).jwtID(UUID.randomUUID().toString())).build();
        JWSAlgorithm alg = key instanceof ECKey ? JWSAlgorithm.ES384 : JWSAlgorithm.RS384;
        JWSSigner signer = key instanceof ECKey ec ? new ECDSASigner(ec) : new RSASSASigner((RSAKey) key);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    static HttpResponse<String> token(String... form) throws Exception {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < form.length; i += 2) {
            body.append(body.length() == 0 ? "" : "&").append(form[i]).append('=')
                    .append(URLEncoder.encode(form[i + 1], StandardCharsets.UTF_8));
        }
        return vault.client.send(HttpRequest.newBuilder(java.net.URI.create(tokenUrl))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> clientCredentials(String assertion, String scope) throws Exception {
        return token("grant_type", "client_credentials", "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", assertion, "scope", scope);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(HttpResponse<String> r) {
        return JSON.readValue(r.body(), Map.class);
    }

    static void assertRefused(HttpResponse<String> r, int status, String error) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(json(r)).containsEntry("error", error).containsKey("error_description");
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
    }

    @Test
    void anRs384ClientGetsAFiveMinuteSystemTokenThatReadsAcrossPatientsAndWritesNothing() throws Exception {
        HttpResponse<String> r = clientCredentials(assertion("exporter-rs", rsaClient, b -> b), "system/*.rs");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
        Map<String, Object> answer = json(r);
        assertThat(answer).containsEntry("token_type", "bearer").containsEntry("scope", "system/*.rs").containsEntry("expires_in", 300);
        String token = (String) answer.get("access_token");
        SignedJWT issued = SignedJWT.parse(token);
        assertThat(issued.getJWTClaimsSet().getStringClaim("vault_role")).isEqualTo("service");
        assertThat(issued.getJWTClaimsSet().getStringClaim("client_id")).isEqualTo("exporter-rs");
        assertThat(Duration.between(Instant.now(), issued.getJWTClaimsSet().getExpirationTime().toInstant()))
                .isLessThanOrEqualTo(Duration.ofMinutes(5));

        assertThat(vault.get("/fhir/Patient/" + patientId, token).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient?_count=10", token).statusCode()).isEqualTo(200);
        HttpResponse<String> write = vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
        assertThat(write.statusCode()).isEqualTo(403);
        assertThat(vault.get("/fhir/AuditEvent", token).statusCode()).isEqualTo(403);
        assertThat(vault.get("/admin/clients", token).statusCode()).isEqualTo(403);
    }

    @Test
    void anEs384ClientGetsOnlyTheScopesItWasRegisteredWith() throws Exception {
        HttpResponse<String> r = clientCredentials(assertion("exporter-es", ecClient, b -> b),
                "system/Patient.rs system/Observation.read system/Condition.rs system/*.cruds");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // v2 Patient.rs under v1 Patient.read, v1 Observation.read under v2 Observation.rs; the rest left out
        assertThat(json(r)).containsEntry("scope", "system/Patient.rs system/Observation.read");
        String token = (String) json(r).get("access_token");
        assertThat(vault.get("/fhir/Patient/" + patientId, token).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Condition?patient=" + patientId, token).statusCode()).isEqualTo(403);

        assertRefused(clientCredentials(assertion("exporter-es", ecClient, b -> b), "system/Condition.rs system/*.cruds"),
                400, "invalid_scope");
    }

    @Test
    void anAssertionIsAcceptedOnce() throws Exception {
        String once = assertion("exporter-rs", rsaClient, b -> b);
        assertThat(clientCredentials(once, "system/*.rs").statusCode()).isEqualTo(200);
        assertRefused(clientCredentials(once, "system/*.rs"), 401, "invalid_client");
    }

    @Test
    void assertionsThatBreakARuleAreRefusedAsInvalidClient() throws Exception {
        Instant now = Instant.now();
        Map<String, String> attacks = new LinkedHashMap<>();
        attacks.put("expired", assertion("exporter-rs", rsaClient, b -> b.expirationTime(Date.from(now.minusSeconds(120)))));
        attacks.put("exp 10 minutes ahead", assertion("exporter-rs", rsaClient,
                b -> b.expirationTime(Date.from(now.plus(Duration.ofMinutes(10))))));
        attacks.put("no exp", assertion("exporter-rs", rsaClient, b -> b.expirationTime(null)));
        attacks.put("another audience", assertion("exporter-rs", rsaClient, b -> b.audience("https://elsewhere.example/token")));
        attacks.put("iss is not sub", assertion("exporter-rs", rsaClient, b -> b.subject("exporter-es")));
        attacks.put("no jti", assertion("exporter-rs", rsaClient, b -> b.jwtID(null)));
        attacks.put("unknown client", assertion("nobody", rsaClient, b -> b));
        attacks.put("signed by a key the client did not register", assertion("exporter-rs",
                new RSAKeyGenerator(2048).keyID("rs-1").generate(), b -> b));
        attacks.put("another client's key", assertion("exporter-rs", ecClient, b -> b));
        attacks.put("not a JWT", "not-a-jwt");
        attacks.put("unsigned", new PlainJWT(new JWTClaimsSet.Builder().issuer("exporter-rs").subject("exporter-rs")
                .audience(tokenUrl).expirationTime(Date.from(now.plusSeconds(60))).jwtID(UUID.randomUUID().toString()).build())
                .serialize());
        SignedJWT hmac = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().issuer("exporter-rs")
                .subject("exporter-rs").audience(tokenUrl).expirationTime(Date.from(now.plusSeconds(60)))
                .jwtID(UUID.randomUUID().toString()).build());
        hmac.sign(new MACSigner(new byte[32]));
        attacks.put("HS256", hmac.serialize());
        SignedJWT rs256 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rs-1").build(),
                new JWTClaimsSet.Builder().issuer("exporter-rs").subject("exporter-rs").audience(tokenUrl)
                        .expirationTime(Date.from(now.plusSeconds(60))).jwtID(UUID.randomUUID().toString()).build());
        rs256.sign(new RSASSASigner(rsaClient));
        attacks.put("RS256", rs256.serialize());
        for (Map.Entry<String, String> attack : attacks.entrySet()) {
            HttpResponse<String> r = clientCredentials(attack.getValue(), "system/*.rs");
            assertThat(r.statusCode()).as(attack.getKey() + ": " + r.body()).isEqualTo(401);
            assertThat(json(r)).as(attack.getKey()).containsEntry("error", "invalid_client").doesNotContainKey("access_token");
        }
    }

    @Test
    void malformedTokenRequestsGetRfc6749Errors() throws Exception {
        String good = assertion("exporter-rs", rsaClient, b -> b);
        assertRefused(token("grant_type", "password", "username", "a", "password", "b"), 400, "unsupported_grant_type");
        assertRefused(token("grant_type", "client_credentials", "client_assertion", good, "scope", "system/*.rs"), 400,
                "invalid_request");
        assertRefused(token("grant_type", "client_credentials", "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", good), 400, "invalid_request");
        assertRefused(token("grant_type", "client_credentials", "grant_type", "client_credentials", "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", good, "scope", "system/*.rs"), 400,
                "invalid_request");
        HttpResponse<String> asJson = vault.client.send(HttpRequest.newBuilder(java.net.URI.create(tokenUrl))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertRefused(asJson, 400, "invalid_request");
        HttpResponse<String> garbage = vault.client.send(HttpRequest.newBuilder(java.net.URI.create(tokenUrl))
                .header("Content-Type", "not a media type;;").POST(HttpRequest.BodyPublishers.ofString("grant_type=x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertRefused(garbage, 400, "invalid_request");
    }

    @Test
    void aDisabledClientGetsNoMoreTokens() throws Exception {
        RSAKey key = new RSAKeyGenerator(3072).keyID("temp-1").generate();
        assertThat(register("temporary", new JWKSet(key.toPublicJWK()), "system/*.read").statusCode()).isEqualTo(201);
        assertThat(clientCredentials(assertion("temporary", key, b -> b), "system/*.read").statusCode()).isEqualTo(200);
        HttpResponse<String> disabled = vault.send("POST", "/admin/clients/temporary/disable", operator, null);
        assertThat(disabled.statusCode()).isEqualTo(200);
        assertThat(json(disabled)).containsEntry("enabled", false);
        assertRefused(clientCredentials(assertion("temporary", key, b -> b), "system/*.read"), 401, "invalid_client");
    }

    @Test
    void registrationRefusesPrivateKeysWeakKeysWriteScopesAndTakenIds() throws Exception {
        assertThat(register("leaky", new JWKSet((JWK) rsaClient), "system/*.rs").statusCode()).isEqualTo(400);
        assertThat(register("weak", new JWKSet(new RSAKeyGenerator(1024, true).generate().toPublicJWK()), "system/*.rs").statusCode())
                .isEqualTo(400);
        assertThat(register("p256", new JWKSet(new ECKeyGenerator(Curve.P_256).generate().toPublicJWK()), "system/*.rs")
                .statusCode()).isEqualTo(400);
        assertThat(register("writer", new JWKSet(rsaClient.toPublicJWK()), "system/*.cruds").statusCode()).isEqualTo(400);
        assertThat(register("user-scope", new JWKSet(rsaClient.toPublicJWK()), "user/*.rs").statusCode()).isEqualTo(400);
        assertThat(register("exporter-rs", new JWKSet(rsaClient.toPublicJWK()), "system/*.rs").statusCode()).isEqualTo(409);
        String practitionerTry = vault.send("POST", "/admin/clients", practitioner, "{}").statusCode() + "";
        assertThat(practitionerTry).isEqualTo("403");
        HttpResponse<String> list = vault.get("/admin/clients", operator);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains("exporter-rs", "rs-1").doesNotContain("\"d\"", rsaClient.getPrivateExponent().toString());
    }

    @Test
    void anOperatorManagesClientsFromTheCommandLine() throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("cli-1").generate();
        Path jwks = dir.resolve("cli-client.jwks.json");
        java.nio.file.Files.writeString(jwks, new JWKSet(key.toPublicJWK()).toString());
        String[] target = {"--data-dir", vault.dataDir.toString(), "--url", vault.base};
        assertThat(cli("register", "--client-id", "cli-client", "--jwks", jwks.toString(), "--scope", "system/*.read", target[0],
                target[1], target[2], target[3])).startsWith("0:").contains("client cli-client registered");
        assertThat(cli("list", target)).startsWith("0:").contains("cli-client  system/*.read  enabled");
        assertThat(clientCredentials(assertion("cli-client", key, b -> b), "system/*.read").statusCode()).isEqualTo(200);
        assertThat(cli("register", "--client-id", "cli-writer", "--jwks", jwks.toString(), "--scope", "system/*.write", target[0],
                target[1], target[2], target[3])).startsWith("2:").contains("400");
        assertThat(cli("disable", "cli-client", target[0], target[1], target[2], target[3])).startsWith("0:");
        assertRefused(clientCredentials(assertion("cli-client", key, b -> b), "system/*.read"), 401, "invalid_client");
    }

    /** Runs {@code vault client ...}; answers "exit: output". */
    static String cli(String command, String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        int exit = new picocli.CommandLine(new fr.hdsvault.api.cli.ClientCommand()).setOut(new java.io.PrintWriter(out, true))
                .setErr(new java.io.PrintWriter(out, true)).execute(all);
        return exit + ": " + out;
    }

    @Test
    @SuppressWarnings("unchecked")
    void theSmartConfigurationAnnouncesTheTokenEndpointAndWhatItAccepts() throws Exception {
        HttpResponse<String> r = vault.get("/.well-known/smart-configuration", null);
        assertThat(r.statusCode()).isEqualTo(200);
        Map<String, Object> c = json(r);
        assertThat(c).containsEntry("token_endpoint", tokenUrl);
        assertThat(c.get("grant_types_supported")).isEqualTo(List.of("client_credentials"));
        assertThat(c.get("token_endpoint_auth_methods_supported")).isEqualTo(List.of("private_key_jwt"));
        assertThat(c.get("token_endpoint_auth_signing_alg_values_supported")).isEqualTo(List.of("ES384", "RS384"));
        assertThat((List<Object>) c.get("scopes_supported")).contains("system/*.rs", "system/*.read").doesNotContain("system/*.cruds");
        assertThat((List<Object>) c.get("capabilities")).contains("client-confidential-asymmetric").doesNotContain("launch-standalone");
        assertThat(c).doesNotContainKey("authorization_endpoint");
    }

    @Test
    void everyTokenRequestIsInTheAuditTrail() throws Exception {
        HttpResponse<String> issued = clientCredentials(assertion("exporter-rs", rsaClient, b -> b), "system/*.rs");
        assertThat(issued.statusCode()).isEqualTo(200);
        String issuedJti = SignedJWT.parse((String) json(issued).get("access_token")).getJWTClaimsSet().getJWTID();
        assertThat(clientCredentials(assertion("exporter-rs", rsaClient, b -> b.audience("https://x.example/")), "system/*.rs")
                .statusCode()).isEqualTo(401);
        HttpResponse<String> r = vault.get("/fhir/AuditEvent?agent=exporter-rs&_count=1000", auditor);
        assertThat(r.statusCode()).isEqualTo(200);
        List<AuditEvent> events = FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry().stream()
                .map(e -> (AuditEvent) e.getResource()).toList();
        assertThat(events).anySatisfy(e -> {
            assertThat(e.getSubtypeFirstRep().getCode()).isEqualTo("smart-token");
            assertThat(e.getOutcome()).isEqualTo(AuditEvent.AuditEventOutcome._0);
            assertThat(e.getOutcomeDesc()).contains("exporter-rs", "system/*.rs");
            assertThat(e.getEntityFirstRep().getWhat().getIdentifier().getValue()).isEqualTo(issuedJti);
        });
        // A refusal after the client's own signature verified (here: another audience) names the client;
        // one whose signature did not (another key) names no one.
        assertThat(events).anySatisfy(e -> {
            assertThat(e.getOutcome()).isEqualTo(AuditEvent.AuditEventOutcome._8);
            assertThat(e.getOutcomeDesc()).contains("invalid_client", "aud must be the token endpoint");
        });
        assertThat(clientCredentials(assertion("exporter-rs", new RSAKeyGenerator(2048).keyID("rs-1").generate(), b -> b),
                "system/*.rs").statusCode()).isEqualTo(401);
        HttpResponse<String> refused = vault.get("/fhir/AuditEvent?agent=unauthenticated&_count=1000", auditor);
        assertThat(refused.body()).contains("smart-token", "invalid_client", "signature does not verify");
    }
}
