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
        return sendJson(method, path, role, json, Duration.ofMinutes(1));
    }

    /** A request with a JSON body, answered within {@code timeout}. */
    Answer sendJson(String method, String path, Role role, String json, Duration timeout) throws Exception {
        return send(method, path, role, timeout, "application/json", "application/json", HttpRequest.BodyPublishers.ofString(json));
    }

    /** A POST of {@code body} as {@code contentType} (an import's lines), answered in JSON. */
    Answer sendBody(String path, Role role, String contentType, byte[] body, Duration timeout) throws Exception {
        return send("POST", path, role, timeout, "application/json", contentType, HttpRequest.BodyPublishers.ofByteArray(body));
    }

    private Answer send(String method, String path, Role role, Duration timeout, String accept) throws Exception {
        return send(method, path, role, timeout, accept, null, HttpRequest.BodyPublishers.noBody());
    }

    private Answer send(String method, String path, Role role, Duration timeout, String accept, String contentType,
                        HttpRequest.BodyPublisher body) throws Exception {
        HttpRequest.Builder request = request(method, path, role, timeout, body).header("Accept", accept);
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> r = http().send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }

    /** A bodiless request to a path of the vault or a URL it gave (a status URL), with {@code headers} (name, value pairs). */
    HttpResponse<String> exchange(String method, String pathOrUrl, Role role, String... headers) throws Exception {
        HttpRequest.Builder request = request(method, pathOrUrl, role, Duration.ofMinutes(5), HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A GET whose body is streamed into {@code file}. */
    HttpResponse<java.io.InputStream> stream(String pathOrUrl, Role role) throws Exception {
        return http().send(request("GET", pathOrUrl, role, Duration.ofHours(1), HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    private HttpClient http() throws Exception {
        return HttpClient.newBuilder().sslContext(tls()).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A client TLS context trusting the vault's CA (--ca, else the data directory's). */
    javax.net.ssl.SSLContext tls() throws Exception {
        return DevPki.clientContext(ca != null ? ca : dataDir.resolve().resolve("tls").resolve(DevPki.CA_CERT));
    }

    /** The data directory's token issuer, which signs the tokens of the commands that act as a role. */
    TokenIssuer issuer() {
        return TokenIssuer.forHome(VaultHome.prepare(dataDir.resolve()));
    }

    private HttpRequest.Builder request(String method, String pathOrUrl, Role role, Duration timeout, HttpRequest.BodyPublisher body) {
        String target = pathOrUrl.startsWith("https://") ? pathOrUrl : base() + pathOrUrl;
        return HttpRequest.newBuilder(URI.create(target)).method(method, body)
                .header("Authorization", "Bearer " + bearer(dataDir.resolve(), role)).timeout(timeout);
    }

    /** The vault's base URL. */
    String base() {
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
        // A backend service (a restitution's export) reads across patients: its token says so, and names it as its client.
        return issuer().issue(role == Role.SERVICE
                ? new TokenIssuer.Grant(subject, role.claimValue(), "system/*.read", null, Duration.ofMinutes(5), subject)
                : new TokenIssuer.Grant(subject, role.claimValue(), null, null, Duration.ofMinutes(5)));
    }
}
