package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.sun.net.httpserver.HttpServer;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A vault configured as in production: tokens from an external OpenID Connect provider (its
 * JWK set served over HTTP by this test, rotated while the vault runs), system clients by
 * client certificates of a configured CA (mutual TLS), and a per-caller rate limit.
 */
class ExternalIdentityTest {

    static final String ISSUER = "https://idp.test.example/realms/hospital";

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static HttpServer idp;
    static final AtomicReference<JWKSet> published = new AtomicReference<>();
    static final AtomicInteger jwksFetches = new AtomicInteger();
    static RSAKey key1;
    static Pki clientCa;
    static Pki otherCa;

    @BeforeAll
    static void start() throws Exception {
        key1 = TestTokens.newKey("key-2026-1");
        published.set(new JWKSet(key1.toPublicJWK()));
        idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        idp.createContext("/jwks", exchange -> {
            jwksFetches.incrementAndGet();
            byte[] body = published.get().toString(true).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        idp.start();
        clientCa = Pki.newCa("CN=Test Hospital Systems CA");
        otherCa = Pki.newCa("CN=Someone Else CA");
        Path caPem = dir.resolve("client-ca.pem");
        Files.writeString(caPem, clientCa.pem());
        vault = new VaultHttps(dir.resolve("vault"), Map.ofEntries(
                Map.entry("vault.security.oidc.jwk-set-uri", "http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks"),
                Map.entry("vault.security.oidc.issuer-uri", ISSUER),
                Map.entry("vault.security.oidc.token-endpoint", ISSUER + "/token"),
                Map.entry("vault.security.rate-limit.per-second", "2"),
                Map.entry("vault.security.rate-limit.burst", "5"),
                Map.entry("vault.security.mtls.trusted-ca", caPem.toString()),
                Map.entry("vault.security.mtls.clients[0].common-name", "lab-analyser-01"),
                Map.entry("vault.security.mtls.clients[0].role", "practitioner"),
                Map.entry("vault.security.mtls.clients[0].scope", "system/Observation.rs")));
    }

    @AfterAll
    static void stop() {
        vault.close();
        idp.stop(0);
    }

    static String idpToken(RSAKey key, String subject, String scope) throws Exception {
        return new TestTokens(key, ISSUER, "hds-vault").sign(subject, "practitioner", scope, null);
    }

    @Test
    void tokensOfTheProviderAreAcceptedAndItsKeysRotateWithoutARestart() throws Exception {
        assertThat(vault.get("/fhir/Patient?_count=1", idpToken(key1, "dr-one", "user/*.rs")).statusCode()).isEqualTo(200);
        // The single-node issuer is not trusted once a provider is configured.
        String local = TokenIssuer.forHome(VaultHome.prepare(dir.resolve("vault")))
                .issue(new TokenIssuer.Grant("dr-one", "practitioner", "user/*.rs", null, Duration.ofMinutes(5)));
        assertThat(vault.get("/fhir/Patient?_count=1", local).statusCode()).isEqualTo(401);
        // The provider rotates: a new key id appears in its JWK set (next to the old one, as providers do).
        RSAKey key2 = TestTokens.newKey("key-2026-2");
        published.set(new JWKSet(List.of(key1.toPublicJWK(), key2.toPublicJWK())));
        int fetches = jwksFetches.get();
        assertThat(vault.get("/fhir/Patient?_count=1", idpToken(key2, "dr-two", "user/*.rs")).statusCode()).isEqualTo(200);
        assertThat(jwksFetches.get()).isGreaterThan(fetches);
        // A token of the other issuer's key with a known key id, and an unknown key: refused.
        RSAKey rogue = TestTokens.newKey("key-2026-2");
        assertThat(vault.get("/fhir/Patient?_count=1", idpToken(rogue, "dr-two", "user/*.rs")).statusCode()).isEqualTo(401);
        assertThat(vault.get("/fhir/Patient?_count=1", new TestTokens(key2, "https://other.example", "hds-vault")
                .sign("dr-two", "practitioner", "user/*.rs", null)).statusCode()).isEqualTo(401);
        // The SMART configuration points to the provider.
        String smart = vault.get("/fhir/.well-known/smart-configuration", null).body();
        assertThat(smart).contains(ISSUER + "/token").contains("\"issuer\":\"" + ISSUER + "\"");
        assertThat(vault.get("/.well-known/jwks.json", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aBurstBeyondTheLimitGets429ThenRecovers() throws Exception {
        String token = idpToken(key1, "dr-burst", "user/*.rs");
        org.springframework.jdbc.core.JdbcTemplate audit = vault.context.getBean(org.springframework.jdbc.core.JdbcTemplate.class);
        int refusedBefore = audit.queryForObject("select count(*) from audit_event where outcome = 4", Integer.class);
        HttpResponse<String> limited = null;
        for (int i = 0; i < 20 && limited == null; i++) {
            HttpResponse<String> r = vault.get("/fhir/Patient?_count=1", token);
            if (r.statusCode() == 429) {
                limited = r;
            } else {
                assertThat(r.statusCode()).isEqualTo(200);
            }
        }
        assertThat(limited).as("20 requests at once exceed a burst of 5").isNotNull();
        // The refusal is in the audit trail, like any other access.
        assertThat(audit.queryForObject("select count(*) from audit_event where outcome = 4", Integer.class))
                .isGreaterThan(refusedBefore);
        assertThat(limited.body()).contains("OperationOutcome").contains("throttled");
        long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 5L);
        // Another caller is not affected by this one's burst.
        assertThat(vault.get("/fhir/Patient?_count=1", idpToken(key1, "dr-calm", "user/*.rs")).statusCode()).isEqualTo(200);
        Thread.sleep(Duration.ofSeconds(retryAfter).toMillis() + 200);
        assertThat(vault.get("/fhir/Patient?_count=1", token).statusCode()).isEqualTo(200);
    }

    @Test
    void aClientCertificateOfTheConfiguredCaAuthenticatesASystemClient() throws Exception {
        HttpClient lab = clientWith(clientCa.issue("CN=lab-analyser-01,O=Test Hospital"));
        HttpResponse<String> read = lab.send(HttpRequest.newBuilder(URI.create(vault.base + "/fhir/Observation?_count=1")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        HttpResponse<String> write = lab.send(HttpRequest.newBuilder(URI.create(vault.base + "/fhir/Observation"))
                .header("Content-Type", "application/fhir+json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(write.statusCode()).as("its scopes are read and search of Observation only").isEqualTo(403);
        HttpResponse<String> patients = lab.send(HttpRequest.newBuilder(URI.create(vault.base + "/fhir/Patient?_count=1")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(patients.statusCode()).isEqualTo(403);

        // A certificate of the same CA that is not mapped to a role authenticates nobody.
        HttpClient unknown = clientWith(clientCa.issue("CN=unlisted-device"));
        assertThat(unknown.send(HttpRequest.newBuilder(URI.create(vault.base + "/fhir/Observation?_count=1")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);

        // A certificate with the right name from another CA is refused (by TLS, or as unauthenticated).
        HttpClient impostor = clientWith(otherCa.issue("CN=lab-analyser-01,O=Test Hospital"));
        int status;
        try {
            status = impostor.send(HttpRequest.newBuilder(URI.create(vault.base + "/fhir/Observation?_count=1")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (java.io.IOException e) {
            status = -1; // handshake refused
        }
        assertThat(status).isIn(-1, 401);
        // Without any certificate, bearer tokens keep working.
        assertThat(vault.get("/fhir/Observation?_count=1", idpToken(key1, "dr-three", "user/*.rs")).statusCode()).isEqualTo(200);
    }

    private static HttpClient clientWith(Pki.Issued credential) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", credential.keys().getPrivate(), new char[0], new X509Certificate[] {credential.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("vault-ca", fr.hdsvault.crypto.pki.DevPki.readCertificates(
                dir.resolve("vault").resolve("tls").resolve(fr.hdsvault.crypto.pki.DevPki.CA_CERT)).get(0));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** A throwaway certificate authority for client certificates (ECDSA P-256, Bouncy Castle). */
    record Pki(KeyPair keys, X509Certificate certificate) {

        record Issued(KeyPair keys, X509Certificate certificate) {
        }

        static Pki newCa(String name) throws Exception {
            KeyPair keys = ecKeys();
            X500Name subject = new X500Name(name);
            org.bouncycastle.cert.X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(System.nanoTime()),
                    Date.from(Instant.now().minusSeconds(60)), Date.from(Instant.now().plus(Duration.ofDays(1))), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            return new Pki(keys, sign(builder, keys));
        }

        Issued issue(String name) throws Exception {
            KeyPair client = ecKeys();
            org.bouncycastle.cert.X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, BigInteger.valueOf(System.nanoTime()),
                    Date.from(Instant.now().minusSeconds(60)), Date.from(Instant.now().plus(Duration.ofDays(1))), new X500Name(name),
                    client.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            return new Issued(client, sign(builder, keys));
        }

        String pem() throws Exception {
            return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(certificate.getEncoded()) + "\n-----END CERTIFICATE-----\n";
        }

        private static X509Certificate sign(org.bouncycastle.cert.X509v3CertificateBuilder builder, KeyPair issuer) throws Exception {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
        }

        private static KeyPair ecKeys() throws Exception {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        }
    }
}
