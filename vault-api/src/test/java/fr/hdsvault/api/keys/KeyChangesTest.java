package fr.hdsvault.api.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.api.index.IndexDatabases;
import fr.hdsvault.api.index.JdbcKekRegistry;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.KeyDestroyedException;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Crypto-shredding on one node reaches the others: two keyrings (two vault nodes) on one
 * registry, each with its cache and its {@link KeyChanges} watch. A KEK destroyed by one is
 * refused by the other within the watch's period, where without the watch its cache would go
 * on decrypting for ten minutes. On H2 and on the local PostgreSQL.
 */
class KeyChangesTest {

    static final EncryptionContext CONTEXT = new EncryptionContext("t", "Observation", "o1", "1");

    @TempDir
    Path dir;

    @AfterAll
    static void dropSchemas() {
        if (IndexDatabases.postgresUnavailable() == null) {
            IndexDatabases.dropPostgresSchemas();
        }
    }

    @Test
    void aKekDestroyedOnOneNodeIsRefusedOnTheOthersWithinSecondsOnH2() throws Exception {
        destroyedOnOneRefusedOnTheOther(IndexDatabases.h2());
    }

    @Test
    void aKekDestroyedOnOneNodeIsRefusedOnTheOthersWithinSecondsOnPostgresql() throws Exception {
        String why = IndexDatabases.postgresUnavailable();
        Assumptions.assumeTrue(why == null, () -> why + ": skipped");
        destroyedOnOneRefusedOnTheOther(IndexDatabases.postgres());
    }

    private void destroyedOnOneRefusedOnTheOther(DataSource db) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(db);
        try (RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "passphrase".toCharArray())) {
            Keyring a = new Keyring(root, new JdbcKekRegistry(jdbc));
            Keyring b = new Keyring(root, new JdbcKekRegistry(jdbc));
            Keyring unwatched = new Keyring(root, new JdbcKekRegistry(jdbc));
            byte[] sealed = new EnvelopeCipher(a).seal("patient-kek", CONTEXT, "pulse 72".getBytes());
            assertThat(new EnvelopeCipher(b).open(CONTEXT, sealed)).isEqualTo("pulse 72".getBytes()); // b caches the KEK
            assertThat(new EnvelopeCipher(unwatched).open(CONTEXT, sealed)).isEqualTo("pulse 72".getBytes());
            try (KeyChanges watch = KeyChanges.watch(jdbc, b)) {
                a.destroyKek("patient-kek");
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KeyChanges.EVERY.toMillis() * 3);
                boolean refused = false;
                while (!refused && System.nanoTime() < deadline) {
                    try {
                        new EnvelopeCipher(b).open(CONTEXT, sealed);
                        Thread.sleep(50);
                    } catch (KeyDestroyedException e) {
                        refused = true;
                    }
                }
                assertThat(refused).as("refused by the other node within %s", KeyChanges.EVERY.multipliedBy(3)).isTrue();
            }
            // Without the watch, a node's cache goes on decrypting data that was shredded elsewhere.
            assertThat(new EnvelopeCipher(unwatched).open(CONTEXT, sealed)).isEqualTo("pulse 72".getBytes());
            assertThatThrownBy(() -> new EnvelopeCipher(a).open(CONTEXT, sealed)).isInstanceOf(KeyDestroyedException.class);
        }
    }

    @Test
    void aKekRotatedOnOneNodeIsSealedUnderByTheOthersWithinSeconds() throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(IndexDatabases.h2());
        try (RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "passphrase".toCharArray())) {
            Keyring a = new Keyring(root, new JdbcKekRegistry(jdbc));
            Keyring b = new Keyring(root, new JdbcKekRegistry(jdbc));
            EnvelopeCipher sealer = new EnvelopeCipher(b);
            assertThat(EnvelopeCipher.inspect(sealer.seal("patient-kek", CONTEXT, new byte[] {1})).kekVersion()).isEqualTo(1);
            try (KeyChanges watch = KeyChanges.watch(jdbc, b)) {
                assertThat(a.rotateKek("patient-kek")).isEqualTo(2);
                assertThat(EnvelopeCipher.inspect(new EnvelopeCipher(a).seal("patient-kek", CONTEXT, new byte[] {1})).kekVersion())
                        .as("the rotating node, at once").isEqualTo(2);
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KeyChanges.EVERY.toMillis() * 3);
                int version = 1;
                while (version == 1 && System.nanoTime() < deadline) {
                    version = EnvelopeCipher.inspect(sealer.seal("patient-kek", CONTEXT, new byte[] {1})).kekVersion();
                    Thread.sleep(50);
                }
                assertThat(version).as("the other node, within %s", KeyChanges.EVERY.multipliedBy(3)).isEqualTo(2);
            }
        }
    }
}
