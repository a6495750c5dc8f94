package fr.hdsvault.api.backup;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.backup.BackupSource;
import fr.hdsvault.backup.TableSnapshot;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.storage.ObjectStore;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.sql.DataSource;

/**
 * The vault's side of a backup. One read-only transaction with snapshot isolation sees the
 * whole index at one instant while writes go on; every object a version row references was
 * written before that row committed, and objects never change, so the set is consistent.
 *
 * <p>Items (docs/backup.md): {@value #KEYS} the wrapped key registry (no key in clear);
 * {@value #INDEX} and {@value #AUDIT} the index and audit tables, sealed; {@value #AUDIT_CHECKPOINTS}
 * the signed checkpoint copies of the audit bucket up to the snapshot; {@value #VAULT_FILES} the
 * vault's identity and signing keys, sealed. The root key is never in a set.
 */
public final class VaultBackupSource implements BackupSource {

    public static final String KEYS = "keys";
    public static final String INDEX = "index";
    public static final String AUDIT = "audit";
    public static final String AUDIT_CHECKPOINTS = "audit-checkpoints";
    public static final String VAULT_FILES = "vault-files";
    static final List<String> KEY_TABLES = List.of("kek_registry");
    static final List<String> INDEX_TABLES = List.of("compartment_kek", "resource_version", "resource_current", "search_token",
            "search_param");
    static final List<String> AUDIT_TABLES = List.of("audit_event", "audit_checkpoint", "audit_prune", "audit_head");
    /** Data-directory files a restored vault needs to continue as the same vault (its audit log, its tokens). */
    static final List<String> HOME_FILES = List.of("vault-id", "keys/audit-signing.key", "keys/audit-signing.pub", "keys/jwt-issuer.jwks");
    /** H2's snapshot isolation level (org.h2.engine.Constants.TRANSACTION_SNAPSHOT). */
    private static final int H2_SNAPSHOT = 6;

    private final DataSource db;
    private final Keyring keyring;
    private final EnvelopeCipher envelopes;
    private final ObjectStore store;
    private final String objectBucket;
    private final VaultHome home;
    private final String vaultId;
    private final Clock clock;

    public VaultBackupSource(DataSource db, Keyring keyring, ObjectStore store, String objectBucket,
                             VaultHome home, String vaultId, Clock clock) {
        this.db = db;
        this.keyring = keyring;
        this.envelopes = new EnvelopeCipher(keyring);
        this.store = store;
        this.objectBucket = objectBucket;
        this.home = home;
        this.vaultId = vaultId;
        this.clock = clock;
    }

    @Override
    public String vaultId() {
        return vaultId;
    }

    @Override
    public Ed25519.SigningKey signingKey() {
        return BackupKeys.signingKey(keyring);
    }

    @Override
    public Snapshot snapshot(String setId, ItemSink items) throws IOException {
        BackupKeys.ensure(keyring, envelopes);
        Instant pointInTime;
        int schema;
        List<String> objectKeys = new ArrayList<>();
        try (Connection c = db.getConnection()) {
            boolean h2 = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("h2");
            c.setAutoCommit(false);
            c.setTransactionIsolation(h2 ? H2_SNAPSHOT : Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            try {
                // The first read fixes the snapshot; the clock is read just before it.
                pointInTime = clock.instant();
                schema = schemaVersion(c);
                items.write(KEYS, out -> dump(c, KEY_TABLES, out));
                items.write(INDEX, out -> sealed(setId, INDEX, out, sealed -> dump(c, INDEX_TABLES, sealed)));
                items.write(AUDIT, out -> sealed(setId, AUDIT, out, sealed -> dump(c, AUDIT_TABLES, sealed)));
                // The checkpoints of the snapshot itself: the restored bucket then holds exactly the restored rows'.
                items.write(AUDIT_CHECKPOINTS, out -> auditCheckpoints(c, out));
                try (Statement s = c.createStatement()) {
                    s.setFetchSize(1000);
                    try (ResultSet rs = s.executeQuery("select object_key from resource_version where object_key is not null")) {
                        while (rs.next()) {
                            objectKeys.add(rs.getString(1));
                        }
                    }
                }
            } finally {
                c.rollback();
                c.setReadOnly(false);
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IOException("the index snapshot failed: " + e.getMessage(), e);
        }
        items.write(VAULT_FILES, out -> sealed(setId, VAULT_FILES, out, this::homeFiles));
        return new Snapshot(pointInTime, schema, objectKeys);
    }

    @Override
    public byte[] readObject(String key) {
        return store.getBytes(objectBucket, key);
    }

    private interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private void sealed(String setId, String item, OutputStream out, Content content) throws IOException {
        try (OutputStream sealing = envelopes.sealing(BackupKeys.SEALING_KEK, BackupKeys.itemContext(setId, item),
                new NonClosing(out))) {
            content.writeTo(sealing);
        }
    }

    private static void dump(Connection c, List<String> tables, OutputStream out) throws IOException {
        try {
            TableSnapshot.dump(c, tables, out);
        } catch (SQLException e) {
            throw new IOException("table snapshot failed: " + e.getMessage(), e);
        }
    }

    static int schemaVersion(Connection c) throws SQLException {
        int max = 0;
        try (Statement s = c.createStatement();
             // Flyway creates its table with quoted lower-case names, on H2 as on PostgreSQL.
             ResultSet rs = s.executeQuery("select \"version\" from \"flyway_schema_history\" where \"success\" = true "
                     + "and \"version\" is not null")) {
            while (rs.next()) {
                max = Math.max(max, Integer.parseInt(rs.getString(1)));
            }
        }
        return max;
    }

    /**
     * The snapshot's signed checkpoints, one per line: tree size and base64 note. They are the
     * notes the audit bucket holds too (the verifier requires both to match one to one); taken
     * from the snapshot, not the bucket, so that a checkpoint published after the snapshot is not
     * in the set without its row.
     */
    private static void auditCheckpoints(Connection c, OutputStream out) throws IOException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select tree_size, note from audit_checkpoint order by tree_size")) {
            while (rs.next()) {
                out.write((rs.getLong(1) + " " + Base64.getEncoder().encodeToString(rs.getString(2).getBytes(StandardCharsets.UTF_8))
                        + "\n").getBytes(StandardCharsets.US_ASCII));
            }
        } catch (SQLException e) {
            throw new IOException("the audit checkpoints could not be read: " + e.getMessage(), e);
        }
    }

    private void homeFiles(OutputStream out) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(new NonClosing(out))) {
            g.writeStartObject();
            for (String name : HOME_FILES) {
                Path file = home.root().resolve(name);
                if (Files.exists(file)) {
                    g.writeStringField(name, Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
                }
            }
            g.writeEndObject();
        }
    }

    /** Lets a sealing stream finish its last frame without closing the item's stream under it. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
