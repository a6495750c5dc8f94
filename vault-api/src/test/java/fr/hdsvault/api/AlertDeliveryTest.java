package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Alerts leave the vault for a SIEM and a webhook, both started here over TLS with their own CA:
 * the syslog collector receives RFC 5425 frames of RFC 5424 messages, the webhook signed JSON;
 * both carry the alert's id in the trail and never a patient or a record. The webhook refuses the
 * first tries and the collector drops its connection after each message: nothing is lost, the
 * vault tries again and connects again.
 */
class AlertDeliveryTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final Pattern RFC5424 = Pattern.compile("<(\\d{1,3})>1 (\\S+) (\\S+) hds-vault (\\S+) (\\S+) \\[alert@32473 ([^\\]]*)\\] \uFEFF(.*)",
            Pattern.DOTALL);

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static SSLServerSocket collector;
    static HttpsServer webhook;
    static final BlockingQueue<String> syslog = new LinkedBlockingQueue<>();
    static final BlockingQueue<Map.Entry<String, byte[]>> posted = new LinkedBlockingQueue<>();
    static final AtomicInteger refusedPosts = new AtomicInteger();
    static final AtomicInteger connections = new AtomicInteger();
    static final byte[] SECRET = "webhook-shared-secret-for-the-test".getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    static void start() throws Exception {
        char[] password = "siem-test".toCharArray();
        DevPki.Material pki = new DevPki(Clock.systemUTC()).ensure(dir.resolve("siem-pki"), password, List.of("localhost"),
                List.of("127.0.0.1"));
        SSLContext server = fr.hdsvault.api.detection.AlertSinksTest.serverTls(pki.pkcs12(), password);

        collector = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 10, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(AlertDeliveryTest::collect, "test-syslog-collector");
        accept.setDaemon(true);
        accept.start();

        webhook = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        webhook.setHttpsConfigurator(new HttpsConfigurator(server));
        webhook.createContext("/hooks/alerts", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            int status = refusedPosts.incrementAndGet() <= 2 ? 503 : 200; // down at first: the vault must try again
            if (status == 200) {
                posted.add(Map.entry(String.valueOf(exchange.getRequestHeaders().getFirst("X-Hds-Vault-Signature")), body));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        webhook.start();

        Path secret = dir.resolve("webhook.secret");
        Files.write(secret, SECRET);
        Path ca = pki.directory().resolve(DevPki.CA_CERT);
        Map<String, Object> settings = new HashMap<>();
        settings.put("vault.detection.evaluate-every", "1s");
        settings.put("vault.detection.enumeration.refusals", "3");
        settings.put("vault.detection.deliver-every", "1s");
        settings.put("vault.detection.syslog.host", "127.0.0.1");
        settings.put("vault.detection.syslog.port", String.valueOf(collector.getLocalPort()));
        settings.put("vault.detection.syslog.trusted-ca", ca.toString());
        settings.put("vault.detection.webhook.url", "https://127.0.0.1:" + webhook.getAddress().getPort() + "/hooks/alerts");
        settings.put("vault.detection.webhook.trusted-ca", ca.toString());
        settings.put("vault.detection.webhook.secret-file", secret.toString());
        vault = new VaultHttps(dir.resolve("vault"), settings); // detection is on by default
        tokens = TestTokens.ofVault(vault.dataDir);
    }

    /** One message per connection, then the connection is dropped: the vault must notice and connect again. */
    static void collect() {
        while (!collector.isClosed()) {
            try (SSLSocket s = (SSLSocket) collector.accept()) {
                connections.incrementAndGet();
                DataInputStream in = new DataInputStream(s.getInputStream());
                ByteArrayOutputStream length = new ByteArrayOutputStream();
                for (int b = in.read(); b != ' '; b = in.read()) {
                    if (b < 0) {
                        throw new IOException("connection closed before a frame");
                    }
                    length.write(b);
                }
                byte[] message = new byte[Integer.parseInt(length.toString(StandardCharsets.US_ASCII))];
                in.readFully(message);
                syslog.add(new String(message, StandardCharsets.UTF_8));
            } catch (IOException e) {
                // a connection the vault closed, or the collector shutting down
            }
        }
    }

    @AfterAll
    static void stop() throws IOException {
        vault.close();
        webhook.stop(0);
        collector.close();
    }

    static List<String> probe(String agent, int refusals) throws Exception {
        String token = tokens.sign(agent, "practitioner", "user/*.rs", null);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < refusals; i++) {
            String id = UUID.randomUUID().toString();
            ids.add(id);
            assertThat(vault.get("/fhir/Patient/" + id, token).statusCode()).isEqualTo(404);
        }
        return ids;
    }

    static String alertId(String agent) throws Exception {
        String auditor = tokens.sign("security-officer", "auditor", null, null);
        HttpResponse<String> r = vault.get("/fhir/AuditEvent?subtype=urn:hds-vault:alert%7Cenumeration&agent=" + agent, auditor);
        List<Bundle.BundleEntryComponent> entries = FhirContext.forR4Cached().newJsonParser().parseResource(Bundle.class, r.body()).getEntry();
        assertThat(entries).hasSize(1);
        return ((AuditEvent) entries.get(0).getResource()).getIdPart();
    }

    @Test
    void anAlertReachesTheSiemAsRfc5424OverTlsAndTheWebhookSignedAfterItRefusedTheFirstTries() throws Exception {
        List<String> probed = probe("dr-probe-1", 5);
        String syslogMessage = syslog.poll(20, TimeUnit.SECONDS);
        assertThat(syslogMessage).as("syslog message").isNotNull();
        String id = alertId("dr-probe-1");

        Matcher m = RFC5424.matcher(syslogMessage);
        assertThat(m.matches()).as(syslogMessage).isTrue();
        assertThat(m.group(1)).isEqualTo("81"); // authpriv.alert
        assertThat(m.group(5)).isEqualTo("enumeration"); // MSGID
        assertThat(m.group(6)).contains("id=\"" + id + "\"").contains("rule=\"enumeration\"").contains("agent=\"dr-probe-1\"")
                .contains("measured=\"more than 3 refused requests in PT10M\"");
        assertThat(m.group(7)).isEqualTo("Enumeration or probing: many refused requests: more than 3 refused requests in PT10M by dr-probe-1");

        Map.Entry<String, byte[]> post = posted.poll(30, TimeUnit.SECONDS);
        assertThat(post).as("webhook delivery after two refusals").isNotNull();
        assertThat(refusedPosts.get()).isGreaterThanOrEqualTo(3);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET, "HmacSHA256"));
        assertThat(post.getKey()).isEqualTo("sha256=" + HexFormat.of().formatHex(mac.doFinal(post.getValue())));
        JsonNode json = JSON.readTree(post.getValue());
        assertThat(json.get("type").asString()).isEqualTo("security-alert");
        assertThat(json.get("id").asString()).isEqualTo(id);
        assertThat(json.get("rule").asString()).isEqualTo("enumeration");
        assertThat(json.get("agent").asString()).isEqualTo("dr-probe-1");
        assertThat(json.get("search").asString()).isEqualTo("AuditEvent?subtype=urn:hds-vault:alert|enumeration&agent=dr-probe-1");

        String delivered = syslogMessage + new String(post.getValue(), StandardCharsets.UTF_8);
        for (String probedId : probed) { // the records tried are in the trail, never in an alert
            assertThat(delivered).doesNotContain(probedId);
        }

        // A second alert: the collector dropped the first connection, the vault connects again; the webhook takes it at once.
        probe("dr-probe-2", 5);
        String second = syslog.poll(20, TimeUnit.SECONDS);
        assertThat(second).as("second syslog message, on a new connection").isNotNull().contains("agent=\"dr-probe-2\"")
                .contains("id=\"" + alertId("dr-probe-2") + "\"");
        assertThat(connections.get()).isGreaterThanOrEqualTo(2);
        Map.Entry<String, byte[]> secondPost = posted.poll(20, TimeUnit.SECONDS);
        assertThat(secondPost).isNotNull();
        assertThat(JSON.readTree(secondPost.getValue()).get("agent").asString()).isEqualTo("dr-probe-2");
        assertThat(syslog.poll(2, TimeUnit.SECONDS)).as("each alert once").isNull();
    }
}
