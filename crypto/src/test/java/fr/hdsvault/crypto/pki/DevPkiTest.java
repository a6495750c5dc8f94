package fr.hdsvault.crypto.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevPkiTest {

    static final char[] PASSWORD = "changeit".toCharArray();
    static final List<String> DNS = List.of("localhost");
    static final List<String> IPS = List.of("127.0.0.1", "::1");

    @TempDir
    Path dir;

    @Test
    void issuesACaAndAServerCertificateThatValidateAsAChain() throws Exception {
        DevPki.Material m = new DevPki(Clock.systemUTC()).ensure(dir, PASSWORD, DNS, IPS);
        assertThat(m.caCreated()).isTrue();
        for (String f : List.of(DevPki.CA_CERT, DevPki.CA_KEY, DevPki.SERVER_CERT, DevPki.SERVER_KEY, DevPki.SERVER_PKCS12)) {
            assertThat(dir.resolve(f)).exists();
        }
        for (String secret : List.of(DevPki.CA_KEY, DevPki.SERVER_KEY, DevPki.SERVER_PKCS12)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(secret)))).isEqualTo("rw-------");
        }
        X509Certificate server = m.server();
        assertThat(server.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(server.getBasicConstraints()).isEqualTo(-1);
        assertThat(m.ca().getBasicConstraints()).isEqualTo(0);
        assertThat(server.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(server.getSubjectAlternativeNames()).extracting(l -> String.valueOf(l.get(1)))
                .contains("localhost", "127.0.0.1").anyMatch(s -> s.startsWith("0:0:0:0:0:0:0:1"));

        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(m.ca(), null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(
                CertificateFactory.getInstance("X.509").generateCertPath(DevPki.readCertificates(dir.resolve(DevPki.SERVER_CERT))), params);
    }

    @Test
    void keepsItsCertificatesUntilTheServerOneNearsExpiryThenRenewsUnderTheSameCa() throws Exception {
        Instant now = Instant.now();
        DevPki.Material first = new DevPki(Clock.fixed(now, ZoneOffset.UTC)).ensure(dir, PASSWORD, DNS, IPS);
        DevPki.Material second = new DevPki(Clock.fixed(now.plus(Duration.ofDays(10)), ZoneOffset.UTC)).ensure(dir, PASSWORD, DNS, IPS);
        assertThat(second.serverIssued()).isFalse();
        assertThat(second.server()).isEqualTo(first.server());
        DevPki.Material renewed = new DevPki(Clock.fixed(now.plus(Duration.ofDays(380)), ZoneOffset.UTC)).ensure(dir, PASSWORD, DNS, IPS);
        assertThat(renewed.serverIssued()).isTrue();
        assertThat(renewed.caCreated()).isFalse();
        assertThat(renewed.ca()).isEqualTo(first.ca());
        renewed.server().verify(first.ca().getPublicKey());
        DevPki.Material moreNames = new DevPki(Clock.systemUTC()).ensure(dir, PASSWORD, List.of("localhost", "vault.local"), IPS);
        assertThat(moreNames.serverIssued()).isTrue();
    }

    @Test
    void aClientTrustingTheCaCompletesATls13HandshakeAndAStrangerDoesNot(@TempDir Path otherDir) throws Exception {
        DevPki.Material m = new DevPki(Clock.systemUTC()).ensure(dir, PASSWORD, DNS, IPS);
        DevPki.Material other = new DevPki(Clock.systemUTC()).ensure(otherDir, PASSWORD, DNS, IPS);

        KeyStore p12 = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(m.pkcs12())) {
            p12.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(p12, PASSWORD);
        SSLContext serverCtx = SSLContext.getInstance("TLSv1.3");
        serverCtx.init(kmf.getKeyManagers(), null, null);

        try (SSLServerSocket server = (SSLServerSocket) serverCtx.getServerSocketFactory()
                .createServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            server.setEnabledProtocols(new String[] {"TLSv1.3"});
            CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 2; i++) {
                    try (SSLSocket s = (SSLSocket) server.accept()) {
                        s.getOutputStream().write(42);
                        s.getOutputStream().flush();
                    } catch (Exception e) {
                        // the stranger's handshake fails on the server side too
                    }
                }
            });
            try (SSLSocket client = connect(DevPki.clientContext(dir.resolve(DevPki.CA_CERT)), server.getLocalPort())) {
                assertThat(client.getInputStream().read()).isEqualTo(42);
                assertThat(client.getSession().getProtocol()).isEqualTo("TLSv1.3");
            }
            assertThatThrownBy(() -> {
                try (SSLSocket stranger = connect(DevPki.clientContext(otherDir.resolve(DevPki.CA_CERT)), server.getLocalPort())) {
                    stranger.getInputStream().read();
                }
            }).isInstanceOf(SSLHandshakeException.class);
            serving.get(10, TimeUnit.SECONDS);
        }
    }

    static SSLSocket connect(SSLContext ctx, int port) throws Exception {
        SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", port);
        SSLParameters p = socket.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // check the name, as an HTTPS client does
        socket.setSSLParameters(p);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

}
