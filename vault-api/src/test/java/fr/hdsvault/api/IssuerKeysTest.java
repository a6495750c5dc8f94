package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.metrics.IntegrityFailures;
import fr.hdsvault.api.security.PublishedIssuerKeys;
import fr.hdsvault.crypto.Keyring;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The issuer keys other nodes publish in the database: another node's key is accepted, a key
 * written by someone without the root key is not, nor a published row altered afterwards.
 */
class IssuerKeysTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static JdbcTemplate jdbc;
    static String issuer;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"));
        jdbc = vault.context.getBean(JdbcTemplate.class);
        issuer = "urn:hds-vault:" + vault.context.getBean(VaultIdentity.class).vaultId();
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    @Test
    void theVaultIdentityIsTheDatabasesAndTheDirectorysAlike() throws Exception {
        String shared = jdbc.queryForObject("select vault_id from vault_identity", String.class);
        assertThat(issuer).isEqualTo("urn:hds-vault:" + shared);
        assertThat(Files.readString(dir.resolve("vault").resolve("vault-id")).strip()).isEqualTo(shared);
    }

    @Test
    void aKeyAnotherNodePublishedIsAcceptedUntilItsRowIsAltered() throws Exception {
        RSAKey otherNode = TestTokens.newKey("node-b-key");
        PublishedIssuerKeys nodeB = new PublishedIssuerKeys(jdbc,
                new TransactionTemplate(vault.context.getBean(PlatformTransactionManager.class)),
                vault.context.getBean(Keyring.class).hmacKey(PublishedIssuerKeys.MAC_KEY), "node-b", Clock.systemUTC());
        nodeB.exchange(new JWKSet(otherNode.toPublicJWK()), true);
        String token = new TestTokens(otherNode, issuer, "hds-vault").sign("dr-b", "practitioner", "user/*.cruds", null);
        assertThat(statusWithin(token, 200, Duration.ofSeconds(5))).as("a token node B issued, on this node").isEqualTo(200);

        // Someone with write access to the database moves the key to another node: its code no longer matches.
        jdbc.update("update issuer_key set node_id = 'node-c' where key_id = 'node-b-key'");
        assertThat(statusWithin(token, 401, Duration.ofSeconds(10))).as("after the row was altered").isEqualTo(401);
    }

    @Test
    void aKeyWrittenWithoutTheRootKeyIsRefused() throws Exception {
        RSAKey intruder = TestTokens.newKey("intruder-key");
        jdbc.update("insert into issuer_key (key_id, node_id, public_jwk, expires_at, mac) values (?, ?, ?, ?, ?)",
                "intruder-key", "node-x", intruder.toPublicJWK().toJSONString(),
                Timestamp.from(Instant.now().plus(Duration.ofHours(1))), "00".repeat(32));
        String token = new TestTokens(intruder, issuer, "hds-vault").sign("mallory", "operator", null, null);
        Counter forgeries = vault.context.getBean(MeterRegistry.class).counter(IntegrityFailures.METRIC, "kind", "issuer-key");
        double failures = forgeries.count();
        Thread.sleep(1_100); // past the recheck of unknown key ids: the row has been read
        HttpResponse<String> r = vault.get("/fhir/Patient?_count=1", token);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
        assertThat(forgeries.count()).as("counted as an integrity failure")
                .isGreaterThan(failures);
        assertThat(vault.get("/.well-known/jwks.json", null).body()).doesNotContain("intruder-key");
    }

    @Test
    void anExpiredRowIsNotRead() throws Exception {
        RSAKey gone = TestTokens.newKey("gone-node-key");
        PublishedIssuerKeys goneNode = new PublishedIssuerKeys(jdbc,
                new TransactionTemplate(vault.context.getBean(PlatformTransactionManager.class)),
                vault.context.getBean(Keyring.class).hmacKey(PublishedIssuerKeys.MAC_KEY), "node-gone",
                Clock.offset(Clock.systemUTC(), Duration.ofHours(-2))); // published two hours ago, never renewed
        goneNode.exchange(new JWKSet(gone.toPublicJWK()), true);
        String token = new TestTokens(gone, issuer, "hds-vault").sign("dr-gone", "practitioner", "user/*.cruds", null);
        Thread.sleep(1_100);
        assertThat(vault.get("/fhir/Patient?_count=1", token).statusCode()).isEqualTo(401);
    }

    /** The status once it is {@code wanted}, or the last one seen after {@code patience}. */
    private static int statusWithin(String token, int wanted, Duration patience) throws Exception {
        long end = System.nanoTime() + patience.toNanos();
        int status;
        do {
            status = vault.get("/fhir/Patient?_count=1", token).statusCode();
            if (status == wanted) {
                return status;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < end);
        return status;
    }
}
