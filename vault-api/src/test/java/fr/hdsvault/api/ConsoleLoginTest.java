package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console's login at the host's OpenID Connect provider, in Chromium: the authorization code
 * flow with PKCE (S256). The provider is started by this test over its own HTTPS (a certificate of
 * its own CA, its key pinned in Chromium as the vault's is), with an authorization endpoint that
 * approves one user at once, a token endpoint that checks the code, the redirect URI, the client
 * and the verifier against the challenge before it signs an access token, and its JWK set. The
 * vault trusts that provider only; the role comes from the claim the vault is configured to read.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleLoginTest {

    static final String CLIENT_ID = "hds-vault-console";
    static final String ROLE_CLAIM = "hospital_role";

    @TempDir
    static Path dir;
    static HttpsServer provider;
    static HttpServer keys;
    static RSAKey signingKey;
    static VaultHttps vault;
    static ChromeDriver browser;
    static WebDriverWait wait;
    /** Codes issued and not yet redeemed: code -> (challenge, redirect URI). */
    static final Map<String, String[]> codes = new ConcurrentHashMap<>();
    static final List<String> authorizeRequests = new CopyOnWriteArrayList<>();
    static final List<String> tokenAnswers = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        ConsoleBrowserTest.requireChromium();
        signingKey = TestTokens.newKey("idp-console-1");
        char[] password = "console-login".toCharArray();
        DevPki.Material pki = new DevPki(Clock.systemUTC()).ensure(dir.resolve("idp-pki"), password, List.of("localhost"),
                List.of("127.0.0.1"));
        provider = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        provider.setHttpsConfigurator(new HttpsConfigurator(fr.hdsvault.api.detection.AlertSinksTest.serverTls(pki.pkcs12(), password)));
        provider.createContext("/authorize", ConsoleLoginTest::authorize);
        provider.createContext("/token", ConsoleLoginTest::token);
        // Chromium keeps the authorization request's connection open: one thread per exchange, or the token request waits.
        provider.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        provider.start();
        keys = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        keys.createContext("/jwks", exchange -> reply(exchange, 200, new JWKSet(signingKey.toPublicJWK()).toString(true), Map.of()));
        keys.start();
        String idp = "https://localhost:" + provider.getAddress().getPort();
        Map<String, Object> settings = new HashMap<>();
        settings.put("vault.security.oidc.jwk-set-uri", "http://127.0.0.1:" + keys.getAddress().getPort() + "/jwks");
        settings.put("vault.security.oidc.role-claim", ROLE_CLAIM);
        // With a query of its own, as some providers' endpoints have: the console adds its parameters to it.
        settings.put("vault.security.oidc.authorization-endpoint", idp + "/authorize?kc_idp_hint=hospital");
        settings.put("vault.security.oidc.token-endpoint", idp + "/token");
        settings.put("vault.security.oidc.console-client-id", CLIENT_ID);
        vault = new VaultHttps(dir.resolve("vault"), settings);
        browser = ConsoleBrowserTest.chromium(dir.resolve("chromium-profile"), ConsoleBrowserTest.keyPin(vault),
                ConsoleBrowserTest.keyPin(DevPki.clientContext(pki.directory().resolve(DevPki.CA_CERT)), provider.getAddress().getPort()));
        wait = new WebDriverWait(browser, Duration.ofSeconds(20));
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (vault != null) {
            vault.close();
        }
        if (provider != null) {
            provider.stop(0);
        }
        if (keys != null) {
            keys.stop(0);
        }
    }

    /** Approves the user at once (the provider's own login is not the vault's to test) and sends the browser back with a code. */
    static void authorize(HttpExchange exchange) throws IOException {
        Map<String, String> q = form(exchange.getRequestURI().getRawQuery());
        authorizeRequests.add(exchange.getRequestURI().getRawQuery());
        String redirect = q.get("redirect_uri");
        if (!CLIENT_ID.equals(q.get("client_id")) || !"code".equals(q.get("response_type")) || !"hospital".equals(q.get("kc_idp_hint"))
                || !"S256".equals(q.get("code_challenge_method")) || q.get("code_challenge") == null
                || !(vault.base + "/console/index.html").equals(redirect)) {
            reply(exchange, 400, "invalid_request", Map.of());
            return;
        }
        String code = UUID.randomUUID().toString();
        codes.put(code, new String[] {q.get("code_challenge"), redirect});
        reply(exchange, 302, "", Map.of("Location", redirect + "?code=" + code + "&state="
                + URLEncoder.encode(q.get("state"), StandardCharsets.UTF_8)));
    }

    /** The code once, for the same redirect URI and client, and a verifier whose SHA-256 is the challenge. */
    static void token(HttpExchange exchange) throws IOException {
        Map<String, String> cors = Map.of("Access-Control-Allow-Origin", vault.base);
        Map<String, String> f = form(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        String[] issued = f.get("code") == null ? null : codes.remove(f.get("code"));
        String verifier = f.getOrDefault("code_verifier", "");
        String challenge;
        try {
            challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256")
                    .digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (issued == null || !"authorization_code".equals(f.get("grant_type")) || !CLIENT_ID.equals(f.get("client_id"))
                || !issued[1].equals(f.get("redirect_uri")) || !issued[0].equals(challenge)) {
            tokenAnswers.add("invalid_grant");
            reply(exchange, 400, "{\"error\":\"invalid_grant\"}", cors);
            return;
        }
        try {
            Instant now = Instant.now();
            String access = TestTokens.signClaims(signingKey, new JWTClaimsSet.Builder().issuer("https://localhost")
                    .audience("hds-vault").subject("officer-at-idp").issueTime(Date.from(now))
                    .expirationTime(Date.from(now.plusSeconds(300))).jwtID(UUID.randomUUID().toString())
                    .claim(ROLE_CLAIM, "auditor").build());
            tokenAnswers.add("issued");
            reply(exchange, 200, "{\"access_token\":\"" + access + "\",\"token_type\":\"Bearer\",\"expires_in\":300}", cors);
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    @Test
    @Order(1)
    void theConsoleNamesTheProviderAndMayCallItsTokenEndpointOnly() throws Exception {
        HttpResponse<String> login = vault.client.send(HttpRequest.newBuilder(URI.create(vault.base + "/console/login.json")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).isEqualTo(200);
        assertThat(login.body()).contains("\"clientId\":\"" + CLIENT_ID + "\"").contains("\"roleClaim\":\"" + ROLE_CLAIM + "\"")
                .contains("/authorize").contains("/token");
        HttpResponse<String> page = vault.client.send(HttpRequest.newBuilder(URI.create(vault.base + "/console/index.html")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
                .contains("connect-src 'self' https://localhost:" + provider.getAddress().getPort() + ";");
    }

    @Test
    @Order(2)
    void theSecurityOfficerLogsInAtTheProviderWithPkceAndSeesTheTrail() throws Exception {
        // Something in the trail to see: a practitioner of the same provider reads a record that does not exist.
        Instant now = Instant.now();
        String practitioner = TestTokens.signClaims(signingKey, new JWTClaimsSet.Builder().audience("hds-vault").subject("dr-at-idp")
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300))).jwtID(UUID.randomUUID().toString())
                .claim(ROLE_CLAIM, "practitioner").claim("scope", "user/*.cruds").build());
        assertThat(vault.get("/fhir/Patient/" + UUID.randomUUID(), practitioner).statusCode()).isEqualTo(404);
        browser.get(vault.base + "/console/");
        wait.until(ExpectedConditions.elementToBeClickable(By.id("provider-login"))).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("logout")));
        assertThat(browser.findElement(By.id("who")).getText()).isEqualTo("officer-at-idp (auditor)");
        assertThat(ConsoleBrowserTest.tabsOf(wait)).containsExactly("Audit trail", "Alerts", "Evidence report");
        wait.until(d -> d.findElement(By.id("results")).getText().contains("dr-at-idp"));
        // The code and state are gone from the address bar; the provider saw a S256 challenge, never the verifier.
        assertThat(browser.getCurrentUrl()).isEqualTo(vault.base + "/console/index.html");
        assertThat(authorizeRequests).hasSize(1);
        assertThat(authorizeRequests.get(0)).contains("code_challenge_method=S256").doesNotContain("code_verifier");
        assertThat(tokenAnswers).containsExactly("issued");
        ConsoleBrowserTest.shot(browser, "provider-login-auditor");
    }

    @Test
    @Order(3)
    void aCodeBroughtToTheConsoleByAnotherTabOrATamperedStateIsNotRedeemed() throws Exception {
        browser.get(vault.base + "/console/");
        browser.executeScript("sessionStorage.clear()");
        // A login link made elsewhere (a code and a state this tab never asked for): refused before the token endpoint is called.
        browser.get(vault.base + "/console/index.html?code=" + UUID.randomUUID() + "&state=forged");
        wait.until(d -> d.findElement(By.id("login-error")).getText().contains("not started from this tab"));
        assertThat(browser.findElement(By.id("logout")).isDisplayed()).isFalse();
        assertThat(tokenAnswers).containsExactly("issued");
        assertThat(browser.executeScript("return sessionStorage.getItem('hds-vault-token')")).isNull();
    }

    static Map<String, String> form(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            out.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                    eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    static void reply(HttpExchange exchange, int status, String body, Map<String, String> headers) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        headers.forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
        exchange.getResponseHeaders().add("Content-Type", body.startsWith("{") ? "application/json" : "text/plain");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
        exchange.close();
    }
}
