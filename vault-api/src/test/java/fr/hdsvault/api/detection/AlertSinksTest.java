package fr.hdsvault.api.detection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.crypto.pki.DevPki;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/**
 * The sinks on their own: the syslog message keeps RFC 5424's syntax whatever an agent's name
 * holds, the bodies carry only the alert's fields, and a collector the vault cannot authenticate
 * (another CA, a certificate for another host, plain TCP) never receives an alert.
 */
public class AlertSinksTest {

    static final SecurityAlert ALERT = new SecurityAlert(42, "mass-access", "Mass access to patient records",
            "dr-\"x\"]\\y\nz", "more than 200 distinct patients in PT1H", Instant.parse("2026-12-05T03:00:01.123456Z"),
            "hds-vault v1 node n1");

    @TempDir
    Path dir;

    @Test
    void theSyslogMessageEscapesWhatAnAgentNameHoldsAndKeepsOneLine() {
        String m = SyslogSink.format(ALERT, "vault host");
        assertThat(m).startsWith("<81>1 2026-12-05T03:00:01.123Z vault_host hds-vault - mass-access [alert@32473 id=\"42\" ")
                .contains("agent=\"dr-\\\"x\\\"\\]\\\\y?z\"").doesNotContain("\n");
        assertThat(m.substring(m.indexOf("] \uFEFF") + 3)).isEqualTo("Mass access to patient records: more than 200 distinct patients "
                + "in PT1H by dr-\"x\"]\\y?z");
        assertThat(SyslogSink.format(ALERT, null)).contains(" - hds-vault - ");
    }

    @Test
    void theWebhookBodyHoldsTheAlertsFieldsOnly() {
        var json = JsonMapper.builder().build().readTree(WebhookSink.body(ALERT));
        List<String> fields = new java.util.ArrayList<>();
        json.propertyNames().forEach(fields::add);
        assertThat(fields).containsExactly("type", "id", "rule", "name", "agent", "measured", "recorded", "source", "search");
        assertThat(json.get("recorded").asString()).isEqualTo("2026-12-05T03:00:01.123456Z");
        assertThatThrownBy(() -> new WebhookSink(URI.create("http://siem.example/hook"), SSLContext.getDefault(), null))
                .hasMessageContaining("https");
    }

    @Test
    void aCollectorTheVaultCannotAuthenticateReceivesNothing() throws Exception {
        Path trusted = new DevPki(Clock.systemUTC()).ensure(dir.resolve("trusted"), "p".toCharArray(), List.of("localhost"),
                List.of("127.0.0.1")).directory().resolve(DevPki.CA_CERT);
        DevPki.Material other = new DevPki(Clock.systemUTC()).ensure(dir.resolve("other"), "p".toCharArray(), List.of("localhost"),
                List.of("127.0.0.1"));
        DevPki.Material otherHost = new DevPki(Clock.systemUTC()).ensure(dir.resolve("trusted"), "p".toCharArray(),
                List.of("siem.example"), List.of("10.9.9.9")); // same CA, another host's certificate
        for (DevPki.Material collectorKeys : List.of(other, otherHost)) {
            try (SSLServerSocket collector = collector(collectorKeys.pkcs12())) {
                Thread accept = new Thread(() -> {
                    try (SSLSocket s = (SSLSocket) collector.accept()) {
                        s.getInputStream().read(); // the handshake, refused by the vault's side
                    } catch (Exception expected) {
                        // the vault refused it
                    }
                });
                accept.start();
                SyslogSink sink = new SyslogSink("127.0.0.1", collector.getLocalPort(), SinkTls.context(trusted), "h");
                assertThatThrownBy(() -> sink.deliver(ALERT)).isInstanceOf(SSLHandshakeException.class);
                sink.close();
                accept.join(5_000);
            }
        }
    }

    private static SSLServerSocket collector(Path pkcs12) throws Exception {
        return (SSLServerSocket) serverTls(pkcs12, "p".toCharArray()).getServerSocketFactory().createServerSocket(0, 1,
                InetAddress.getLoopbackAddress());
    }

    /** A receiver's TLS (a SIEM collector, a webhook) from its PKCS#12 key and certificate. */
    public static SSLContext serverTls(Path pkcs12, char[] password) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pkcs12)) {
            keys.load(in, password);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, password);
        SSLContext server = SSLContext.getInstance("TLS");
        server.init(kmf.getKeyManagers(), null, null);
        return server;
    }
}
