package fr.hdsvault.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.crypto.pki.DevPki;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A host serves the vault with its own certificate (a public CA's, here another CA made for the
 * test): {@code serve --tls-certificate --tls-private-key}. The client sees that certificate, no
 * local CA is generated, and a private key others may read is refused.
 */
class ServerCertificateTest {

    @TempDir
    Path dir;

    @Test
    void theVaultServesTheHostsCertificateAndRefusesAKeyOthersCanRead() throws Exception {
        Path pki = dir.resolve("host-pki");
        DevPki.Material host = new DevPki(Clock.systemUTC()).ensure(pki, "unused".toCharArray(), List.of("localhost"),
                List.of("127.0.0.1"));
        Path certificate = pki.resolve(DevPki.SERVER_CERT);
        Path key = pki.resolve(DevPki.SERVER_KEY);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path home = dir.resolve("vault");
        ServeCommand serve = new ServeCommand();
        int exit = new CommandLine(serve).execute("--data-dir", home.toString(), "--port", "0", "--tls-certificate",
                certificate.toString(), "--tls-private-key", key.toString());
        assertThat(exit).isZero();
        try (var context = serve.context) {
            String port = context.getEnvironment().getProperty("local.server.port");
            HttpClient client = HttpClient.newBuilder().sslContext(DevPki.clientContext(pki.resolve(DevPki.CA_CERT))).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/fhir/metadata"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            X509Certificate served = (X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0];
            assertThat(served).isEqualTo(host.server());
            assertThat(Files.exists(home.resolve("tls").resolve(DevPki.CA_CERT))).as("no local CA when the host has a certificate")
                    .isFalse();
        }

        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        StringWriter err = new StringWriter();
        int refused = new CommandLine(new ServeCommand()).setErr(new PrintWriter(err, true)).execute("--data-dir",
                dir.resolve("other").toString(), "--port", "0", "--tls-certificate", certificate.toString(), "--tls-private-key",
                key.toString());
        assertThat(refused).isNotZero();
        assertThat(err.toString()).contains("must be readable by its owner only");
    }
}
