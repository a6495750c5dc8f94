package fr.hdsvault.api.detection;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import tools.jackson.databind.json.JsonMapper;

/**
 * Alerts POSTed as JSON to an HTTPS endpoint (a chat or ticketing integration, an on-call
 * service). With a shared secret, each body carries its HMAC-SHA256 in
 * {@code X-Hds-Vault-Signature: sha256=<hex>}, so that the receiver knows it comes from the vault;
 * the alert's id (its position in the trail) lets it drop a repeat. A 2xx answer is a delivery;
 * anything else is tried again later. Format in docs/detection.md.
 */
final class WebhookSink implements AlertSink {

    static final String SIGNATURE_HEADER = "X-Hds-Vault-Signature";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final URI url;
    private final HttpClient http;
    private final byte[] secret;

    WebhookSink(URI url, SSLContext tls, byte[] secret) {
        if (!"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("vault.detection.webhook.url must be an https URL");
        }
        this.url = url;
        SSLParameters params = new SSLParameters();
        params.setProtocols(SinkTls.PROTOCOLS);
        this.http = HttpClient.newBuilder().sslContext(tls).sslParameters(params).connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.secret = secret == null || secret.length == 0 ? null : secret.clone();
    }

    @Override
    public String name() {
        return "webhook";
    }

    @Override
    public void deliver(SecurityAlert alert) throws IOException {
        byte[] body = body(alert);
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (secret != null) {
            request.header(SIGNATURE_HEADER, "sha256=" + HexFormat.of().formatHex(hmac(secret, body)));
        }
        HttpResponse<Void> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.discarding());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while delivering an alert");
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("the webhook answered " + response.statusCode());
        }
    }

    static byte[] body(SecurityAlert a) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", "security-alert");
        json.put("id", a.id());
        json.put("rule", a.rule());
        json.put("name", a.ruleName());
        json.put("agent", a.agent());
        json.put("measured", a.measured());
        json.put("recorded", a.recorded().toString());
        json.put("source", a.source());
        json.put("search", a.search());
        return JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] hmac(byte[] secret, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }
}
