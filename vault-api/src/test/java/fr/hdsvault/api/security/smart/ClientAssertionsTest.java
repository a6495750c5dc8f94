package fr.hdsvault.api.security.smart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import fr.hdsvault.api.index.IndexDatabases;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The assertion checks against the real registry on H2 and the local PostgreSQL: an assertion
 * used on one node is refused by another node sharing the database (the replay cache is the
 * database's, not a node's memory); keys published at a client's HTTPS URL are fetched, and
 * fetched again when the client rotates to a key id the cache does not know.
 */
class ClientAssertionsTest {

    static final String AUDIENCE = "https://vault.example.fr/auth/token";

    @TempDir
    Path dir;

    @AfterAll
    static void dropSchemas() {
        if (IndexDatabases.postgresUnavailable() == null) {
            IndexDatabases.dropPostgresSchemas();
        }
    }

    @Test
    void anAssertionUsedOnOneNodeIsRefusedOnAnotherOnH2() throws Exception {
        replayedAcrossNodes(IndexDatabases.h2());
    }

    @Test
    void anAssertionUsedOnOneNodeIsRefusedOnAnotherOnPostgresql() throws Exception {
        String why = IndexDatabases.postgresUnavailable();
        Assumptions.assumeTrue(why == null, () -> why + ": skipped");
        replayedAcrossNodes(IndexDatabases.postgres());
    }

    private void replayedAcrossNodes(DataSource db) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(db);
        RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
        ClientAssertions nodeA = node(jdbc);
        ClientAssertions nodeB = node(jdbc);
        new BackendClients(jdbc, Clock.systemUTC(), null).register("c1", new JWKSet(key.toPublicJWK()).toString(), null,
                "system/*.rs", "ops");
        String jti = UUID.randomUUID().toString();
        assertThat(nodeA.verify(sign(key, "c1", jti), AUDIENCE).id()).isEqualTo("c1");
        assertThatThrownBy(() -> nodeB.verify(sign(key, "c1", jti), AUDIENCE)).isInstanceOf(OAuthError.class)
                .hasMessageContaining("already used");
        assertThatThrownBy(() -> nodeA.verify(sign(key, "c1", jti), AUDIENCE)).isInstanceOf(OAuthError.class);
        assertThat(nodeB.verify(sign(key, "c1", UUID.randomUUID().toString()), AUDIENCE).id()).isEqualTo("c1");
        // 8 nodes racing with one assertion: exactly one accepts it
        String raced = sign(key, "c1", UUID.randomUUID().toString());
        List<Thread> racers = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        for (int i = 0; i < 8; i++) {
            ClientAssertions n = node(jdbc);
            Thread t = new Thread(() -> {
                try {
                    n.verify(raced, AUDIENCE);
                    accepted.incrementAndGet();
                } catch (OAuthError refused) {
                    // the others
                }
            });
            racers.add(t);
            t.start();
        }
        for (Thread t : racers) {
            t.join();
        }
        assertThat(accepted.get()).isEqualTo(1);
    }

    @Test
    void keysPublishedAtAnHttpsUrlAreFetchedAndRefetchedAfterARotation() throws Exception {
        DevPki.Material tls = new DevPki(Clock.systemUTC()).ensure(dir.resolve("tls"), "pw".toCharArray(), List.of("localhost"),
                List.of("127.0.0.1"));
        RSAKey first = new RSAKeyGenerator(2048).keyID("first").generate();
        RSAKey second = new RSAKeyGenerator(2048).keyID("second").generate();
        AtomicReference<String> published = new AtomicReference<>(new JWKSet(first.toPublicJWK()).toString());
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(serverContext(tls.pkcs12(), "pw".toCharArray())));
        server.createContext("/jwks.json", exchange -> {
            byte[] body = published.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try {
            JdbcTemplate jdbc = new JdbcTemplate(IndexDatabases.h2());
            BackendClients clients = new BackendClients(jdbc, Clock.systemUTC(),
                    DevPki.clientContext(tls.directory().resolve(DevPki.CA_CERT)).getSocketFactory());
            clients.register("published", null, "https://localhost:" + server.getAddress().getPort() + "/jwks.json", "system/*.rs", "ops");
            ClientAssertions assertions = new ClientAssertions(clients, new AssertionReplays(jdbc, Clock.systemUTC()),
                    Duration.ofSeconds(30), Clock.systemUTC());
            assertThat(assertions.verify(sign(first, "published", UUID.randomUUID().toString()), AUDIENCE).id()).isEqualTo("published");
            published.set(new JWKSet(List.of(second.toPublicJWK(), first.toPublicJWK())).toString());
            assertThat(assertions.verify(sign(second, "published", UUID.randomUUID().toString()), AUDIENCE).id())
                    .isEqualTo("published");
            RSAKey stranger = new RSAKeyGenerator(2048).keyID("second").generate();
            assertThatThrownBy(() -> assertions.verify(sign(stranger, "published", UUID.randomUUID().toString()), AUDIENCE))
                    .isInstanceOf(OAuthError.class).hasMessageContaining("signature");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aJwksUrlMustBeHttps() {
        BackendClients clients = new BackendClients(new JdbcTemplate(IndexDatabases.h2()), Clock.systemUTC(), null);
        assertThatThrownBy(() -> clients.register("plain", null, "http://keys.example/jwks.json", "system/*.rs", "ops"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("https");
        assertThatThrownBy(() -> clients.register("both", "{\"keys\":[]}", "https://keys.example/jwks.json", "system/*.rs", "ops"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static ClientAssertions node(JdbcTemplate jdbc) {
        return new ClientAssertions(new BackendClients(jdbc, Clock.systemUTC(), null), new AssertionReplays(jdbc, Clock.systemUTC()),
                Duration.ofSeconds(30), Clock.systemUTC());
    }

    private static String sign(RSAKey key, String client, String jti) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS384).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
                new JWTClaimsSet.Builder().issuer(client).subject(client).audience(AUDIENCE)
                        .expirationTime(Date.from(Instant.now().plusSeconds(240))).jwtID(jti).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static SSLContext serverContext(Path pkcs12, char[] password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pkcs12)) {
            store.load(in, password);
        }
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }
}
