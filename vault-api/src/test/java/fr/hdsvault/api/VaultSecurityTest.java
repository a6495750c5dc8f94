package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vault's front door over real HTTPS with real tokens: what is public, what needs a token, which tokens fail. */
class VaultSecurityTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TokenIssuer issuer;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"));
        issuer = TokenIssuer.forHome(VaultHome.prepare(dir.resolve("vault")));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static String token(Duration ttl) {
        return issuer.issue(new TokenIssuer.Grant("alice", "practitioner", null, null, ttl));
    }

    @Test
    void theCapabilityStatementAndTheProbesArePublic() throws Exception {
        HttpResponse<String> metadata = vault.get("/fhir/metadata", null);
        assertThat(metadata.statusCode()).isEqualTo(200);
        assertThat(metadata.body()).contains("\"resourceType\":\"CapabilityStatement\"");
        HttpResponse<String> ready = vault.get("/actuator/health/readiness", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"storage\":{\"status\":\"UP\"}").contains("\"keys\":{\"status\":\"UP\"}");
    }

    @Test
    void anyOtherRequestWithoutATokenIs401WithAnOperationOutcome() throws Exception {
        HttpResponse<String> r = vault.get("/fhir/Patient/123", null);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).get().asString().startsWith("Bearer");
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("application/fhir+json");
        assertThat(r.body()).contains("\"resourceType\":\"OperationOutcome\"").contains("\"code\":\"login\"");
    }

    @Test
    void aValidTokenOfThisVaultGetsThrough() throws Exception {
        HttpResponse<String> r = vault.get("/fhir/Patient/123", token(Duration.ofMinutes(5)));
        assertThat(r.statusCode()).isNotIn(401, 403);
        assertThat(r.body()).contains("OperationOutcome"); // HAPI's own answer, not the security layer's
    }

    @Test
    void expiredForgedForeignAndUnsignedTokensAre401(@TempDir Path other) throws Exception {
        String valid = token(Duration.ofMinutes(5));
        String[] parts = valid.split("\\.");
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        String forgedPayload = Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.replace("alice", "mallory").getBytes(StandardCharsets.UTF_8));
        String unsignedHeader = Base64.getUrlEncoder().withoutPadding()
                .encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String foreign = TokenIssuer.forHome(VaultHome.prepare(other))
                .issue(new TokenIssuer.Grant("alice", "practitioner", null, null, Duration.ofMinutes(5)));
        for (String bad : new String[] {
                token(Duration.ofMinutes(-5)),                       // expired (beyond the 60 s clock skew)
                parts[0] + "." + forgedPayload + "." + parts[2],     // payload changed after signing
                unsignedHeader + "." + parts[1] + ".",               // alg: none
                foreign,                                             // another vault's issuer and key
                "not-a-jwt"}) {
            HttpResponse<String> r = vault.get("/fhir/Patient/123", bad);
            assertThat(r.statusCode()).as(bad).isEqualTo(401);
            assertThat(r.body()).contains("OperationOutcome").doesNotContain(bad);
        }
    }

    @Test
    void plainHttpIsRefused() throws Exception {
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI http = URI.create(vault.base.replace("https://", "http://") + "/fhir/metadata");
        int status;
        try {
            status = plain.send(HttpRequest.newBuilder(http).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (java.io.IOException e) {
            status = -1; // connection closed by the TLS endpoint
        }
        assertThat(status).as("plain HTTP must never be served").isNotEqualTo(200);
    }

    @Test
    void tokensWithBadClaimsAre401AndTooNarrowScopesAre403() throws Exception {
        TestTokens vaultKey = TestTokens.ofVault(dir.resolve("vault"));
        TestTokens otherKeySameKid = new TestTokens(TestTokens.newKey(vaultKey.key.getKeyID()), vaultKey.issuer, vaultKey.audience);
        java.util.Map<String, String> refused = new java.util.LinkedHashMap<>();
        refused.put("not yet valid", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                c -> c.notBeforeTime(java.util.Date.from(java.time.Instant.now().plusSeconds(3600)))));
        refused.put("expired long ago", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                c -> c.issueTime(java.util.Date.from(java.time.Instant.now().minusSeconds(7200)))
                        .notBeforeTime(java.util.Date.from(java.time.Instant.now().minusSeconds(7200)))
                        .expirationTime(java.util.Date.from(java.time.Instant.now().minusSeconds(3600)))));
        refused.put("wrong issuer", vaultKey.sign("alice", "practitioner", "user/*.rs", null, c -> c.issuer("https://idp.example")));
        refused.put("wrong audience", vaultKey.sign("alice", "practitioner", "user/*.rs", null, c -> c.audience("another-api")));
        refused.put("signed by another key with the same key id", otherKeySameKid.sign("alice", "practitioner", "user/*.rs", null));
        refused.put("patient scope without a patient claim", vaultKey.sign("alice", "practitioner", "patient/*.rs", null));
        refused.put("patient role without a patient claim", vaultKey.sign("bob", "patient", "patient/*.rs", null));
        refused.put("unknown role", vaultKey.sign("alice", "superuser", "user/*.cruds", null));
        refused.put("no role", vaultKey.sign("alice", null, "user/*.cruds", null));
        for (var e : refused.entrySet()) {
            HttpResponse<String> r = vault.get("/fhir/Patient?_count=1", e.getValue());
            assertThat(r.statusCode()).as(e.getKey()).isEqualTo(401);
            assertThat(r.body()).as(e.getKey()).contains("\"resourceType\":\"OperationOutcome\"");
        }
        assertThat(vault.get("/fhir/Patient?_count=1", refused.get("patient scope without a patient claim")).body())
                .contains("no patient claim");

        String narrow = vaultKey.sign("alice", "practitioner", "user/Patient.rs", null);
        assertThat(vault.get("/fhir/Patient?_count=1", narrow).statusCode()).isEqualTo(200);
        HttpResponse<String> tooNarrow = vault.get("/fhir/Observation?_count=1", narrow);
        assertThat(tooNarrow.statusCode()).isEqualTo(403);
        assertThat(tooNarrow.body()).contains("OperationOutcome").contains("do not grant search on Observation");
    }

    @Test
    void responsesCarrySecurityHeadersAndCorsIsOff() throws Exception {
        HttpResponse<String> r = vault.get("/fhir/Patient?_count=1", token(Duration.ofMinutes(5)));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Strict-Transport-Security")).get().asString().contains("max-age=");
        assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(r.headers().firstValue("Cache-Control")).get().asString().contains("no-store");
        assertThat(r.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        HttpResponse<String> preflight = vault.send("OPTIONS", "/fhir/Patient", null, null,
                "Origin", "https://evil.example", "Access-Control-Request-Method", "GET");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        HttpResponse<String> cross = vault.send("GET", "/fhir/Patient?_count=1", token(Duration.ofMinutes(5)), null,
                "Origin", "https://evil.example");
        assertThat(cross.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }

    @Test
    void theSmartConfigurationAndTheIssuerKeysArePublished() throws Exception {
        HttpResponse<String> smart = vault.get("/fhir/.well-known/smart-configuration", null);
        assertThat(smart.statusCode()).isEqualTo(200);
        assertThat(smart.headers().firstValue("Content-Type")).get().asString().startsWith("application/json");
        var config = com.nimbusds.jose.util.JSONObjectUtils.parse(smart.body());
        assertThat(config.get("issuer")).isEqualTo(issuer.issuer());
        assertThat(String.valueOf(config.get("capabilities"))).contains("permission-v2", "permission-patient");
        assertThat(vault.get("/.well-known/smart-configuration", null).body()).isEqualTo(smart.body());
        String jwksUri = (String) config.get("jwks_uri");
        HttpResponse<String> jwks = vault.get(URI.create(jwksUri).getPath(), null);
        assertThat(jwks.statusCode()).isEqualTo(200);
        com.nimbusds.jose.jwk.JWKSet set = com.nimbusds.jose.jwk.JWKSet.parse(jwks.body());
        assertThat(set.getKeys()).isNotEmpty().noneMatch(com.nimbusds.jose.jwk.JWK::isPrivate);
        // The published key verifies this vault's tokens.
        com.nimbusds.jwt.SignedJWT jwt = com.nimbusds.jwt.SignedJWT.parse(token(Duration.ofMinutes(5)));
        com.nimbusds.jose.jwk.JWK published = set.getKeyByKeyId(jwt.getHeader().getKeyID());
        assertThat(jwt.verify(new com.nimbusds.jose.crypto.RSASSAVerifier(published.toRSAKey()))).isTrue();
    }

    @Test
    void breakGlassIsRefusedUnlessConfigured() throws Exception {
        HttpResponse<String> r = vault.send("GET", "/fhir/Patient?_count=1", token(Duration.ofMinutes(5)), null,
                "X-Break-Glass-Reason", "emergency");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).contains("Break-glass access is not enabled");
    }

    @Test
    void theIssuerKeyRotatesWithoutARestart() throws Exception {
        String beforeRotation = token(Duration.ofMinutes(5));
        java.io.StringWriter out = new java.io.StringWriter();
        int exit = new picocli.CommandLine(new fr.hdsvault.api.cli.RotateIssuerKeyCommand()).setOut(new java.io.PrintWriter(out))
                .execute("--data-dir", dir.resolve("vault").toString());
        assertThat(exit).isZero();
        String newKeyId = out.toString().strip();
        String afterRotation = token(Duration.ofMinutes(5));
        assertThat(com.nimbusds.jwt.SignedJWT.parse(afterRotation).getHeader().getKeyID()).isEqualTo(newKeyId);
        assertThat(vault.get("/fhir/Patient?_count=1", afterRotation).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient?_count=1", beforeRotation).statusCode()).as("previous key still trusted").isEqualTo(200);
        assertThat(vault.get("/.well-known/jwks.json", null).body()).contains(newKeyId);
        // A second rotation drops the oldest key: its tokens stop working once the vault rechecks (every 5 s).
        issuer.rotate();
        Thread.sleep(5_500);
        assertThat(vault.get("/fhir/Patient?_count=1", beforeRotation).statusCode()).isEqualTo(401);
        assertThat(vault.get("/fhir/Patient?_count=1", afterRotation).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient?_count=1", token(Duration.ofMinutes(5))).statusCode()).isEqualTo(200);
    }
}
