package fr.hdsvault.api.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.context.FhirContext;
import com.zaxxer.hikari.HikariDataSource;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.api.index.JdbcKekRegistry;
import fr.hdsvault.api.index.PowerCutFileSystem;
import fr.hdsvault.api.security.Caller;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.SmartScope;
import fr.hdsvault.api.web.ClientAddress;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The audit journal on H2: the events of reads are durable through it alone, put back after a
 * power cut that lost them from the database; a torn or damaged last record is a write that was
 * never acknowledged and is left out; a journal that is not this trail's is refused loudly, never
 * mixed in. A power cut is the image of what was forced ({@link PowerCutFileSystem}), taken while
 * the trail runs.
 */
class AuditJournalTest {

    private static final AuditEvents EVENTS = new AuditEvents("journal-test", "journal-site");
    private static final Caller CALLER = new Caller("dr-journal", Role.PRACTITIONER, SmartScope.parseAll("user/*.cruds"), null, null,
            "app", "jwt", null);

    @TempDir
    Path dir;
    private EmbeddedS3Server s3;
    private S3ObjectStore store;
    private Pkcs12RootKeyProvider root;
    private final Ed25519.SigningKey signingKey = Ed25519.SigningKey.generate();

    @BeforeAll
    static void powerCuts() {
        PowerCutFileSystem.register();
    }

    @BeforeEach
    void services() throws Exception {
        s3 = EmbeddedS3Server.start(dir.resolve("s3"));
        store = new S3ObjectStore(S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par"));
        store.createBucket("audit", BucketOptions.plain());
        root = Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "journal-test".toCharArray());
    }

    @AfterEach
    void stop() throws Exception {
        root.close();
        store.close();
        s3.close();
    }

    /** A trail over one H2 database, built as the vault builds it, with the journal beside the database. */
    private final class Node implements AutoCloseable {
        final HikariDataSource db = new HikariDataSource();
        final JdbcTemplate jdbc = new JdbcTemplate(db);
        final AuditTrail trail;

        Node(String url) {
            db.setJdbcUrl(url);
            db.setUsername("sa");
            try {
                trail = open();
            } catch (RuntimeException e) {
                db.close();
                throw e;
            }
        }

        private AuditTrail open() {
            Flyway.configure().dataSource(db).load().migrate();
            TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(db));
            Keyring keyring = new Keyring(root, new JdbcKekRegistry(jdbc));
            BlindIndex index = new BlindIndex(keyring.hmacKey("audit-index:journal"));
            IndexDurability durability = IndexDurability.of(db);
            AuditLog log = new AuditLog(jdbc, new EnvelopeCipher(keyring), FhirContext.forR4Cached(),
                    v -> index.token("audit", null, v).anySystem(), "journal");
            AuditCheckpoints checkpoints = new AuditCheckpoints(jdbc, tx, durability, store, new AuditCheckpoints.Signer(
                    "hds-vault/journal/audit", AuditConfig.KEY_NAME, signingKey, "audit"), Clock.systemUTC());
            AuditJournal journal = AuditJournal.beside(durability.h2StoreFile().orElseThrow(), 1 << 20);
            // No checkpoint while the test runs: the copies taken of a running node must agree with the bucket.
            return new AuditTrail(jdbc, tx, durability, journal, new EnvelopeCipher(keyring), FhirContext.forR4Cached(), log,
                    checkpoints, new AuditRetention(jdbc, tx), new AuditTrail.Settings("audit:journal", 1_000_000, Duration.ofHours(1),
                    Duration.ofSeconds(30), Duration.ofDays(365)), Clock.systemUTC());
        }

        /** Reads, each its own group, as requests one after the other make them. */
        void read(int from, int count) {
            for (int n = from; n < from + count; n++) {
                AuditContext context = new AuditContext();
                context.caller(CALLER);
                context.touched("Observation/obs-" + n, "Patient/p-" + n);
                trail.recordReads(EVENTS.of(new AuditEvents.Request("GET", "/fhir/Observation/obs-" + n, null,
                        new ClientAddress("127.0.0.1", "127.0.0.1"), 200, null), context, Instant.now()));
            }
        }

        AuditVerifier.Result verify() {
            return new AuditVerifier(jdbc, signingKey.publicKey(), AuditConfig.KEY_NAME, store, "audit").verify();
        }

        long size() {
            return trail.size();
        }

        @Override
        public void close() {
            trail.close();
            db.close();
        }
    }

    private String powerCutUrl(String name) {
        return "jdbc:h2:" + PowerCutFileSystem.SCHEME + ":" + dir.resolve(name).resolve("vault");
    }

    /** What a power cut leaves of a running node's database and journal, as a new directory. */
    private Path powerCut(String from, String to) throws Exception {
        Files.createDirectories(dir.resolve(to));
        for (String file : List.of("vault.mv.db", "vault.audit-journal")) {
            PowerCutFileSystem.snapshotImage(dir.resolve(from).resolve(file), dir.resolve(to).resolve(file));
        }
        return dir.resolve(to);
    }

    private static long storedEvents(Path copy) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + copy.resolve("vault"), "sa", "");
             ResultSet rs = c.createStatement().executeQuery("select count(*) from audit_event")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void readsAcknowledgedThroughTheJournalAloneSurviveAPowerCut() throws Exception {
        try (Node running = new Node(powerCutUrl("a"))) {
            running.read(0, 20);
            assertThat(Files.getPosixFilePermissions(dir.resolve("a").resolve("vault.audit-journal")))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            Path afterCut = powerCut("a", "b");
            // The database forced only the first group (its key was new): the journal holds the rest.
            assertThat(storedEvents(afterCut)).isLessThan(20);
            try (Node restarted = new Node("jdbc:h2:file:" + afterCut.resolve("vault"))) {
                assertThat(restarted.size()).isEqualTo(20);
                AuditVerifier.Result verified = restarted.verify();
                assertThat(verified.ok()).as(verified.message()).isTrue();
                assertThat(verified.events()).isEqualTo(20);
                restarted.read(20, 3); // the log goes on from there
                assertThat(restarted.size()).isEqualTo(23);
            }
        }
    }

    @Test
    void aTornLastRecordIsLeftOutAndTheRestReplayed() throws Exception {
        try (Node running = new Node(powerCutUrl("a"))) {
            running.read(0, 5);
            Path afterCut = powerCut("a", "b");
            long forced = storedEvents(afterCut);
            // Damage the last record's body, as a write cut short would leave it.
            try (RandomAccessFile journal = new RandomAccessFile(afterCut.resolve("vault.audit-journal").toFile(), "rw")) {
                long at = 0;
                long last = -1;
                while (true) {
                    journal.seek(at);
                    if (journal.readInt() != 0x4844534A) {
                        break;
                    }
                    journal.readLong();
                    int length = journal.readInt();
                    last = at;
                    at += 20 + length;
                }
                assertThat(last).as("the journal holds records").isGreaterThan(0);
                journal.seek(last + 20 + 3);
                int b = journal.read();
                journal.seek(last + 20 + 3);
                journal.write(b ^ 0x5A);
            }
            try (Node restarted = new Node("jdbc:h2:file:" + afterCut.resolve("vault"))) {
                assertThat(restarted.size()).isEqualTo(4).isGreaterThan(forced);
                assertThat(restarted.verify().ok()).isTrue();
            }
        }
    }

    @Test
    void aJournalFromAnotherTrailIsRefusedAndChangesNothing() throws Exception {
        try (Node x = new Node("jdbc:h2:file:" + dir.resolve("x").resolve("vault"))) {
            x.read(0, 6);
        }
        try (Node y = new Node("jdbc:h2:file:" + dir.resolve("y").resolve("vault"))) {
            y.read(100, 3);
        }
        Files.copy(dir.resolve("x").resolve("vault.audit-journal"), dir.resolve("y").resolve("vault.audit-journal"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> new Node("jdbc:h2:file:" + dir.resolve("y").resolve("vault")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("audit journal");
        assertThat(storedEvents(dir.resolve("y"))).isEqualTo(3);
    }
}
