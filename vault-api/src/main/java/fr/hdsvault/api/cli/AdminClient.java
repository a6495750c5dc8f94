package fr.hdsvault.api.cli;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.crypto.pki.DevPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options and HTTPS client of commands that act on a running vault's /admin API: its URL,
 * the CA to trust (the data directory's local CA by default) and a bearer token. Without
 * {@code --token} (or {@code $VAULT_TOKEN}), a five-minute token for {@code --as} is signed with
 * the data directory's single-node issuer key: whoever can read that key can do so anyway.
 */
public final class AdminClient {

    @Mixin
    DataDirOption dataDir;

    @Option(names = "--url", paramLabel = "URL", description = "The running vault (default: https://localhost:$VAULT_PORT or 8443).")
    String url;

    @Option(names = "--token", paramLabel = "JWT", description = "Bearer token (default: $VAULT_TOKEN, else one signed "
            + "for --as with the data directory's issuer key).")
    String token;

    @Option(names = "--as", paramLabel = "SUBJECT", defaultValue = "vault-cli",
            description = "Subject of the token signed from the data directory (recorded in the audit trail). Default: ${DEFAULT-VALUE}.")
    String subject;

    @Option(names = "--ca", paramLabel = "PEM", description = "CA certificate to trust (default: DIR/tls/ca.pem).")
    Path ca;

    private static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder().build();

    /** An answer: status and body. */
    public record Answer(int status, String body) {

        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> object() {
            return JSON.readValue(body, java.util.Map.class);
        }

        @SuppressWarnings("unchecked")
        java.util.List<java.util.Map<String, Object>> array() {
            return JSON.readValue(body, java.util.List.class);
        }
    }

    Answer send(String method, String path, Role role, Duration timeout) throws Exception {
        return send(method, path, role, timeout, "application/json");
    }

    /** A GET of a resource's readable text form. */
    Answer sendText(String path, Role role) throws Exception {
        return send("GET", path, role, Duration.ofMinutes(1), "text/plain");
    }

    /**
     * What an irreversible command was confirmed with: {@code given} (its {@code --confirm}), else
     * what the operator types on the terminal after {@code prompt}; null when there is neither.
     */
    static String confirmation(String given, String prompt) {
        if (given != null) {
            return given.strip();
        }
        java.io.Console console = System.console();
        String typed = console == null ? null : console.readLine("%s", prompt);
        return typed == null ? null : typed.strip();
    }

    /** A request with a JSON body. */
    Answer sendJson(String method, String path, Role role, String json) throws Exception {
        return send(method, path, role, Duration.ofMinutes(1), "application/json", json);
    }

    private Answer send(String method, String path, Role role, Duration timeout, String accept) throws Exception {
        return send(method, path, role, timeout, accept, null);
    }

    private Answer send(String method, String path, Role role, Duration timeout, String accept, String json) throws Exception {
        Path dir = dataDir.resolve();
        HttpClient http = HttpClient.newBuilder()
                .sslContext(DevPki.clientContext(ca != null ? ca : dir.resolve("tls").resolve(DevPki.CA_CERT)))
                .connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base() + path))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json))
                .header("Authorization", "Bearer " + bearer(dir, role))
                .header("Accept", accept)
                .timeout(timeout);
        if (json != null) {
            request.header("Content-Type", "application/json");
        }
        HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }

    private String base() {
        if (url != null) {
            return url.replaceAll("/+$", "");
        }
        String port = System.getenv("VAULT_PORT");
        return "https://localhost:" + (port == null || port.isBlank() ? "8443" : port.strip());
    }

    private String bearer(Path dir, Role role) {
        if (token != null) {
            return token;
        }
        String env = System.getenv("VAULT_TOKEN");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        return TokenIssuer.forHome(VaultHome.prepare(dir)).issue(new TokenIssuer.Grant(subject, role.claimValue(), null, null,
                Duration.ofMinutes(5)));
    }
}
