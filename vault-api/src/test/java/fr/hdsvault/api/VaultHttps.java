package fr.hdsvault.api;

import fr.hdsvault.api.cli.ServeCommand;
import fr.hdsvault.crypto.pki.DevPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.springframework.context.ConfigurableApplicationContext;

/** A vault started in-process on a free port over real HTTPS, and a client that trusts only its local CA. */
final class VaultHttps implements AutoCloseable {

    final Path dataDir;
    final ConfigurableApplicationContext context;
    final String base;
    final HttpClient client;

    VaultHttps(Path dataDir) throws Exception {
        this(dataDir, java.util.Map.of());
    }

    VaultHttps(Path dataDir, java.util.Map<String, Object> settings) throws Exception {
        this.dataDir = dataDir;
        this.context = ServeCommand.start(dataDir, 0, "127.0.0.1", null, settings);
        this.base = "https://localhost:" + context.getEnvironment().getProperty("local.server.port");
        this.client = HttpClient.newBuilder().sslContext(trusting(dataDir.resolve("tls").resolve(DevPki.CA_CERT)))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    static SSLContext trusting(Path caPem) throws Exception {
        return DevPki.clientContext(caPem);
    }

    HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Any request; {@code headers} are name, value pairs. A FHIR JSON body when {@code body} is not null. */
    HttpResponse<String> send(String method, String path, String token, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/fhir+json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        context.close();
    }
}
