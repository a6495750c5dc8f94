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
        return client.send(request(base + path, method, token, body, headers), HttpResponse.BodyHandlers.ofString());
    }

    /** Creates a resource (201 expected) and returns its id, from the Location header. */
    String create(String type, String json, String token) throws Exception {
        HttpResponse<String> r = send("POST", "/fhir/" + type, token, json);
        if (r.statusCode() != 201) {
            throw new AssertionError("creating a " + type + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.headers().firstValue("Location").orElseThrow().replaceAll(".*/" + type + "/([^/]+)/_history/.*", "$1");
    }

    /** A request to {@code url} with a bearer token and a FHIR JSON body when they are not null. */
    static HttpRequest request(String url, String method, String token, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
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
        return b.build();
    }

    /** A response read off the wire: status code, headers (lower-case names), body. */
    record RawResponse(int status, java.util.Map<String, String> headers, String body) {
    }

    /**
     * Sends bytes as they are over TLS (no client library to refuse or fix them: a Host header,
     * an unencoded character, an oversized header) and reads the response until the server closes
     * or the body's Content-Length is read.
     */
    RawResponse raw(String request) throws Exception {
        int port = Integer.parseInt(base.substring(base.lastIndexOf(':') + 1));
        javax.net.ssl.SSLContext ssl = trusting(dataDir.resolve("tls").resolve(DevPki.CA_CERT));
        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) ssl.getSocketFactory().createSocket("localhost", port)) {
            socket.setSoTimeout(20_000);
            javax.net.ssl.SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(params);
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            java.io.InputStream in = socket.getInputStream();
            java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                byte[] h = head.toByteArray();
                if (h.length >= 4 && h[h.length - 4] == '\r' && h[h.length - 3] == '\n' && h[h.length - 2] == '\r' && h[h.length - 1] == '\n') {
                    break;
                }
            }
            String[] lines = head.toString(java.nio.charset.StandardCharsets.ISO_8859_1).split("\r\n");
            if (!lines[0].startsWith("HTTP/")) { // an HTTP/0.9 answer: no status line, no headers, only the body
                return new RawResponse(-1, java.util.Map.of(), head.toString(java.nio.charset.StandardCharsets.UTF_8)
                        + new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
            int status = Integer.parseInt(lines[0].split(" ")[1]);
            java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT), lines[i].substring(colon + 1).strip());
                }
            }
            byte[] body;
            if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
                while (true) {
                    StringBuilder size = new StringBuilder();
                    while ((b = in.read()) >= 0 && b != '\n') {
                        if (b != '\r') {
                            size.append((char) b);
                        }
                    }
                    int n = Integer.parseInt(size.toString().split(";")[0].strip(), 16);
                    if (n == 0) {
                        break;
                    }
                    all.write(in.readNBytes(n));
                    in.read();
                    in.read();
                }
                body = all.toByteArray();
            } else {
                body = in.readAllBytes();
            }
            return new RawResponse(status, headers, new String(body, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() {
        context.close();
    }
}
