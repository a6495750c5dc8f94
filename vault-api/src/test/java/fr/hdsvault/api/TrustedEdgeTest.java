package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client cannot forge: the vault's own address (links, the bearer challenge, the SMART
 * configuration come from configuration, never from Host or X-Forwarded-*), its own network
 * address in the audit trail (X-Forwarded-For counts from a configured proxy only), and a token
 * that never expires or lives too long.
 */
class TrustedEdgeTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final String FORGED = "Host: evil.example\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: http\r\n"
            + "X-Forwarded-Port: 80\r\nForwarded: host=evil.example;proto=http\r\nX-Forwarded-For: 6.6.6.6\r\n";

    @TempDir
    static Path dir;
    /** No proxy configured, no public URL: the single-node defaults. */
    static VaultHttps direct;
    /** Behind a proxy on 127.0.0.1, published as https://vault.example.fr, with a 2-minute clock skew. */
    static VaultHttps proxied;

    @BeforeAll
    static void start() throws Exception {
        direct = new VaultHttps(dir.resolve("direct"));
        proxied = new VaultHttps(dir.resolve("proxied"), Map.of("vault.http.trusted-proxies", "127.0.0.1/32",
                "vault.http.public-base-url", "https://vault.example.fr", "vault.security.tokens.clock-skew", "120s"));
    }

    @AfterAll
    static void stop() {
        direct.close();
        proxied.close();
    }

    static String practitioner(VaultHttps vault) throws Exception {
        return TestTokens.ofVault(vault.dataDir).sign("dr-edge", "practitioner", "user/*.cruds", null);
    }

    static VaultHttps.RawResponse get(VaultHttps vault, String path, String token, String extraHeaders) throws Exception {
        return vault.raw("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extraHeaders
                + (token == null ? "" : "Authorization: Bearer " + token + "\r\n") + "Connection: close\r\n\r\n");
    }

    /** The newest events of the trail, read by an auditor (whose own read is recorded after them). */
    static List<AuditEvent> newestEvents(VaultHttps vault, int n) throws Exception {
        String auditor = TestTokens.ofVault(vault.dataDir).sign("audit-edge", "auditor", null, null);
        Bundle b = FHIR.newJsonParser().parseResource(Bundle.class,
                vault.get("/fhir/AuditEvent?_sort=-date&_count=" + (n + 10), auditor).body());
        // The accesses only: one token seen from two addresses here is also, rightly, a security alert (token-addresses).
        return b.getEntry().stream().map(e -> (AuditEvent) e.getResource())
                .filter(e -> !fr.hdsvault.api.audit.AuditEvents.ALERT_SYSTEM.equals(e.getType().getSystem())).limit(n).toList();
    }

    @Test
    void forgedHostAndForwardingHeadersDecideNoLinkChallengeOrMetadata() throws Exception {
        String base = direct.base;
        String headers = FORGED.replace("Host: evil.example\r\n", "");
        VaultHttps.RawResponse search = direct.raw("GET /fhir/Patient HTTP/1.1\r\n" + FORGED + "Authorization: Bearer "
                + practitioner(direct) + "\r\nConnection: close\r\n\r\n");
        assertThat(search.status()).as(search.body()).isEqualTo(200);
        Bundle bundle = FHIR.newJsonParser().parseResource(Bundle.class, search.body());
        assertThat(bundle.getLink(Bundle.LINK_SELF).getUrl()).startsWith(base + "/fhir/Patient");
        assertThat(search.body()).doesNotContain("evil.example");

        VaultHttps.RawResponse challenge = direct.raw("GET /fhir/Patient HTTP/1.1\r\n" + FORGED + "Connection: close\r\n\r\n");
        assertThat(challenge.status()).isEqualTo(401);
        assertThat(challenge.headers().get("www-authenticate")).contains(base + "/.well-known/oauth-protected-resource")
                .doesNotContain("evil");

        VaultHttps.RawResponse smart = get(direct, "/fhir/.well-known/smart-configuration", null, headers);
        assertThat(smart.body()).contains("\"jwks_uri\":\"" + base + "/.well-known/jwks.json\"").doesNotContain("evil");
        VaultHttps.RawResponse metadata = get(direct, "/.well-known/oauth-protected-resource", null, headers);
        assertThat(metadata.body()).contains("\"resource\":\"" + base + "\"").contains("\"tls_client_certificate_bound_access_tokens\":false")
                .doesNotContain("evil");
    }

    @Test
    void aClientsForwardedForIsIgnoredUnlessItComesFromAConfiguredProxy() throws Exception {
        VaultHttps.RawResponse read = get(direct, "/fhir/Patient/unknown-edge", practitioner(direct), "X-Forwarded-For: 6.6.6.6\r\n");
        assertThat(read.status()).isEqualTo(404);
        AuditEvent event = newestEvents(direct, 1).get(0);
        assertThat(event.getAgent()).extracting(a -> a.getNetwork().getAddress()).contains("127.0.0.1").doesNotContain("6.6.6.6");
    }

    @Test
    void behindATrustedProxyTheAuditRecordsTheForwardedClientAndTheProxy() throws Exception {
        String token = practitioner(proxied);
        // The leftmost hop is the client's own claim; the rightmost untrusted hop is what the proxy saw.
        VaultHttps.RawResponse r = get(proxied, "/fhir/Patient", token, "X-Forwarded-For: 1.2.3.4, 203.0.113.9\r\n");
        assertThat(r.status()).isEqualTo(200);
        Bundle bundle = FHIR.newJsonParser().parseResource(Bundle.class, r.body());
        assertThat(bundle.getLink(Bundle.LINK_SELF).getUrl()).startsWith("https://vault.example.fr/fhir/Patient");
        AuditEvent event = newestEvents(proxied, 1).get(0);
        assertThat(event.getAgentFirstRep().getNetwork().getAddress()).isEqualTo("203.0.113.9");
        assertThat(event.getAgent()).anySatisfy(a -> {
            assertThat(a.getType().getCodingFirstRep().getCode()).isEqualTo("proxy");
            assertThat(a.getNetwork().getAddress()).isEqualTo("127.0.0.1");
        });
        // A malformed chain names nobody: the connection's address stands.
        get(proxied, "/fhir/Patient", token, "X-Forwarded-For: not-an-address\r\n");
        assertThat(newestEvents(proxied, 1).get(0).getAgentFirstRep().getNetwork().getAddress()).isEqualTo("127.0.0.1");
        assertThat(get(proxied, "/fhir/.well-known/smart-configuration", null, "").body())
                .contains("\"jwks_uri\":\"https://vault.example.fr/.well-known/jwks.json\"");
    }

    @Test
    void tokensMustExpireSoonAndTheClockSkewIsConfigurable() throws Exception {
        TestTokens vaultKey = TestTokens.ofVault(direct.dataDir);
        Instant now = Instant.now();
        Map<String, String> refused = Map.of(
                "no exp", vaultKey.sign("alice", "practitioner", "user/*.rs", null, c -> c.expirationTime(null)),
                "100 years", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                        c -> c.expirationTime(Date.from(now.plus(Duration.ofDays(36_500))))),
                "a 2-hour lifetime", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                        c -> c.issueTime(Date.from(now.minus(Duration.ofMinutes(90)))).expirationTime(Date.from(now.plus(Duration.ofMinutes(30))))),
                "expired 45 s ago (default skew 30 s)", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                        c -> c.issueTime(Date.from(now.minusSeconds(600))).expirationTime(Date.from(now.minusSeconds(45)))));
        for (Map.Entry<String, String> t : refused.entrySet()) {
            var r = direct.get("/fhir/Patient", t.getValue());
            assertThat(r.statusCode()).as(t.getKey()).isEqualTo(401);
            assertThat(r.body()).as(t.getKey()).contains("OperationOutcome");
        }
        assertThat(direct.get("/fhir/Patient", vaultKey.sign("alice", "practitioner", "user/*.rs", null,
                c -> c.expirationTime(Date.from(now.plus(Duration.ofMinutes(59)))))).statusCode()).isEqualTo(200);
        // The same expired token passes where the skew is configured at two minutes.
        String lateByFortyFive = TestTokens.ofVault(proxied.dataDir).sign("alice", "practitioner", "user/*.rs", null,
                c -> c.issueTime(Date.from(now.minusSeconds(600))).expirationTime(Date.from(now.minusSeconds(45))));
        assertThat(proxied.get("/fhir/Patient", lateByFortyFive).statusCode()).isEqualTo(200);
    }
}
