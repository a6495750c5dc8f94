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
}
