package fr.hdsvault.api.backup;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.audit.AuditConfig;
import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.audit.AuditCheckpoints;
import fr.hdsvault.api.audit.AuditVerifier;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.index.IndexMaintenance;
import fr.hdsvault.api.index.JdbcKekRegistry;
import fr.hdsvault.api.lifecycle.CompartmentErasure;
import fr.hdsvault.backup.BackupException;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.BackupVerifier;
import fr.hdsvault.backup.Manifest;
import fr.hdsvault.backup.ObjectList;
import fr.hdsvault.backup.Progress;
import fr.hdsvault.backup.SetReader;
import fr.hdsvault.backup.TableSnapshot;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.InMemoryKekRegistry;
import fr.hdsvault.crypto.KekRecord;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * Builds a vault from one backup set and the root key, into an empty data directory (and,
 * optionally, an empty PostgreSQL database): verifies the set (completion, the signature with
 * the key derived from the set's own registry under this root key, every item's hash), loads
 * the index at the set's schema version then migrates it, copies every object after checking
 * its hash and opening it with its keys, writes the vault's identity and signing keys and the
 * audit checkpoint copies, and finally verifies the restored audit trail. Keys erased since the
 * set was taken ({@link BackupTarget#erasedKeys}) are destroyed again, and their compartments'
 * rows and objects left out: an erasure is never undone by a restore.
 *
 * <p>Object faults do not stop a restore: each is recorded with its key, and the result says
 * the restore failed. Anything else (wrong root key, forged manifest, corrupted item) stops it.
 */
public final class VaultRestore {

    /** A restored vault's parts, open for checks (a drill), until closed. */
    public static final class Restored implements AutoCloseable {
        private final Path dir;
        private final VaultStores stores;
        private final VaultStores.StoreBucket objectBucket;
        private final SingleConnectionDataSource db;
        private final Keyring keyring;
        private final Manifest manifest;
        private long objects;
        private long bytes;
        private long rows;
        private long erasedObjects;
        private final AtomicLong failureCount = new AtomicLong();
        private final List<BackupVerifier.Failure> failures = Collections.synchronizedList(new ArrayList<>());
        private AuditVerifier.Result audit;
        private Duration took;
        private final Map<String, Duration> phases = new java.util.LinkedHashMap<>();

        private Restored(Path dir, VaultStores stores, SingleConnectionDataSource db, Keyring keyring, Manifest manifest) {
            this.dir = dir;
            this.stores = stores;
            this.objectBucket = stores.bucket(StoresProperties.Role.PRIMARY);
            this.db = db;
            this.keyring = keyring;
            this.manifest = manifest;
        }

        public Path dir() {
            return dir;
        }

        /** The restored records' bucket. */
        public VaultStores.StoreBucket objectBucket() {
            return objectBucket;
        }

        public JdbcTemplate jdbc() {
            return new JdbcTemplate(db);
        }

        /** The keys of the set (its registry under the root key). */
        public Keyring keyring() {
            return keyring;
        }

        public Manifest manifest() {
            return manifest;
        }

        public long objects() {
            return objects;
        }

        public long bytes() {
            return bytes;
        }

        public long rows() {
            return rows;
        }

        /** Objects of the set left out because their patient was erased after the set was taken. */
        public long erasedObjects() {
            return erasedObjects;
        }

        public List<BackupVerifier.Failure> failures() {
            synchronized (failures) {
                return List.copyOf(failures);
            }
        }

        public long failureCount() {
            return failureCount.get();
        }

        public AuditVerifier.Result audit() {
            return audit;
        }

        public Duration took() {
            return took;
        }

        /** Where the restore time went, phase by phase: the parts of the recovery time. */
        public Map<String, Duration> phases() {
            return java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(phases));
        }

        private long lap(String phase, long since) {
            long now = System.nanoTime();
            phases.put(phase, Duration.ofNanos(now - since));
            return now;
        }

        public boolean ok() {
            return failureCount.get() == 0 && audit != null && audit.ok();
        }

        void fail(BackupVerifier.Failure f) {
            if (failureCount.incrementAndGet() <= BackupVerifier.MAX_LISTED_FAILURES) {
                failures.add(f);
            }
        }

        public String describe() {
            StringBuilder s = new StringBuilder(ok() ? "restore of " + manifest.id() + " complete" : "restore of " + manifest.id() + " FAILED")
                    .append(": ").append(objects).append(" objects (").append(bytes).append(" bytes), ").append(rows)
                    .append(" index rows").append(erasedObjects == 0 ? "" : ", " + erasedObjects + " objects of erased patients left out")
                    .append(", in ").append(took == null ? "?" : took.toMillis() + " ms").append(phaseTimes())
                    .append("; point in time ")
                    .append(manifest.pointInTime()).append("; ").append(audit == null ? "audit trail not checked" : audit.message());
            for (BackupVerifier.Failure f : failures()) {
                s.append("\n  ").append(f.describe());
            }
            return s.toString();
        }

        private String phaseTimes() {
            StringBuilder s = new StringBuilder();
            phases.forEach((phase, d) -> s.append(s.isEmpty() ? " (" : ", ").append(phase).append(' ')
                    .append(String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1e3)));
            return s.isEmpty() ? "" : s.append(')').toString();
        }

        @Override
        public void close() {
            stores.close();
            db.destroy();
        }
    }

    private VaultRestore() {
    }

    /**
     * Opens a set with its keys: requires the completion marker, rebuilds the set's key registry
     * under this root key and checks the manifest signature with the key derived from it. The
     * keys erased since the set was taken are destroyed in that registry: whatever reads the set
     * through the vault (restore, drill, verify) cannot open an erased patient's data.
     */
    public static SetKeys openSet(BackupTarget target, String setId, RootKeyProvider root) {
        SetReader set = SetReader.unverified(target, setId);
        set.requireComplete();
        Keyring keyring = setKeyring(set, root);
        byte[] publicKey;
        try {
            publicKey = BackupKeys.signingKey(keyring).publicKey();
        } catch (RuntimeException e) {
            throw new BackupException("backup set " + setId + ": its key registry does not open under this root key "
                    + "(another vault's set, a replaced registry, or the wrong root key)", e);
        }
        set.verifySignature(publicKey);
        Set<String> erased = target.erasedKeys();
        erased.forEach(keyring::destroyKek);
        return new SetKeys(set, keyring, erased);
    }

    /** A set whose signature verified, the keyring of its registry, and the keys erased since (destroyed in it). */
    public record SetKeys(SetReader set, Keyring keyring, Set<String> erased) {
    }

    private static Keyring setKeyring(SetReader set, RootKeyProvider root) {
        InMemoryKekRegistry registry = new InMemoryKekRegistry();
        try (InputStream in = set.item(VaultBackupSource.KEYS)) {
            TableSnapshot.read(in, (table, columns) -> values -> {
                Map<String, Object> row = new HashMap<>();
                for (int i = 0; i < columns.size(); i++) {
                    row.put(columns.get(i), values[i]);
                }
                registry.insert(new KekRecord((String) row.get("kek_id"), ((Long) row.get("version")).intValue(),
                        ((Long) row.get("root_key_version")).intValue(),
                        row.get("wrapped_key") == null ? null : Base64.getDecoder().decode((String) row.get("wrapped_key")),
                        OffsetDateTime.parse((String) row.get("created_at")).toInstant(),
                        row.get("destroyed_at") == null ? null : OffsetDateTime.parse((String) row.get("destroyed_at")).toInstant()));
            });
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException | SQLException | RuntimeException e) {
            if (e instanceof BackupException b) {
                throw b;
            }
            throw new BackupException("backup set " + set.id() + ": the key registry item cannot be read", e);
        }
        return new Keyring(root, registry);
    }

    /**
     * Restores a set into {@code dir}, which must be empty or absent, and into the records and
     * audit buckets that {@code stores} names (embedded ones in {@code dir} by default; external
     * ones must hold no object yet).
     * @param indexUrl the index database, null for H2 in the directory; it must hold no vault schema yet
     * @param auditPublicKey the trusted audit checkpoint key, or null to trust the one in the set
     */
    public static Restored restore(BackupTarget target, String setId, RootKeyProvider root, Path dir, StoresProperties stores,
                                   String indexUrl, String indexUser, String indexPassword, byte[] auditPublicKey, int parallelism,
                                   Progress progress) {
        long t0 = System.nanoTime();
        requireEmpty(dir);
        SetKeys keys = openSet(target, setId, root);
        SetReader set = keys.set();
        VaultHome home = VaultHome.prepare(dir);
        String url = indexUrl != null ? indexUrl : home.h2Url();
        SingleConnectionDataSource db = new SingleConnectionDataSource(url, indexUrl == null ? "sa" : indexUser,
                indexUrl == null ? "" : indexPassword, true);
        VaultStores opened = VaultStores.of(stores, home);
        Restored restored = null;
        try {
            requireNoSchema(db);
            opened.prepare(StoresProperties.Role.PRIMARY, BucketOptions.versioned());
            opened.prepare(StoresProperties.Role.AUDIT, BucketOptions.locked(Duration.ofDays(3650)));
            VaultStores.StoreBucket audit = opened.bucket(StoresProperties.Role.AUDIT);
            restored = new Restored(home.root(), opened, db, keys.keyring(), set.manifest());
            requireNoObjects(restored.objectBucket());
            requireNoObjects(audit);
            EnvelopeCipher envelopes = new EnvelopeCipher(keys.keyring());
            long lap = restored.lap("keys", t0);
            restored.rows = loadIndex(set, envelopes, db, progress);
            Set<String> erasedObjects = removeErased(db, root, keys.erased());
            lap = restored.lap("index", lap);
            writeHomeFiles(set, envelopes, home);
            writeAuditCheckpoints(set, audit);
            copyObjects(set, envelopes, restored, parallelism, progress, erasedObjects);
            lap = restored.lap("objects", lap);
            byte[] auditKey = auditPublicKey != null ? auditPublicKey
                    : AuditKeys.readPublic(home.keys().resolve(AuditKeys.PUBLIC_FILE));
            restored.audit = new AuditVerifier(new JdbcTemplate(db), auditKey, AuditConfig.KEY_NAME, audit.store(),
                    audit.bucket()).verify();
            restored.lap("audit", lap);
            restored.took = Duration.ofNanos(System.nanoTime() - t0);
            return restored;
        } catch (RuntimeException | IOException | SQLException e) {
            if (restored != null) {
                restored.close();
            } else {
                opened.close();
                db.destroy();
            }
            if (e instanceof BackupException b) {
                throw b;
            }
            throw new BackupException("restore of " + setId + " failed: " + e.getMessage(), e);
        }
    }

    /** An external bucket that already holds records is another vault's, or a half-done restore's: never mixed. */
    private static void requireNoObjects(VaultStores.StoreBucket bucket) {
        if (!bucket.store().list(bucket.bucket(), null, null, 1).objects().isEmpty()) {
            throw new BackupException("restore needs empty buckets; " + bucket.describe() + " holds objects");
        }
    }

    private static void requireEmpty(Path dir) {
        if (Files.exists(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new BackupException("restore needs an empty data directory; " + dir + " is not empty");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static void requireNoSchema(SingleConnectionDataSource db) throws SQLException {
        try (Connection c = db.getConnection()) {
            // Only the schema the vault will use: a shared server holds other databases' schemas.
            try (var tables = c.getMetaData().getTables(c.getCatalog(), c.getSchema(), "%", new String[] {"TABLE"})) {
                while (tables.next()) {
                    String name = tables.getString("TABLE_NAME").toLowerCase(java.util.Locale.ROOT);
                    if (name.equals("flyway_schema_history") || name.equals("resource_version")) {
                        throw new BackupException("restore needs an empty index database; this one holds a vault schema");
                    }
                }
            }
        }
    }

    /** Schema at the set's version, the rows in one transaction, then the migrations that came after the set. */
    private static long loadIndex(SetReader set, EnvelopeCipher envelopes, SingleConnectionDataSource db, Progress progress)
            throws IOException, SQLException {
        int version = set.manifest().schemaVersion();
        Flyway.configure().dataSource(db).locations("classpath:db/migration")
                .target(MigrationVersion.fromVersion(String.valueOf(version))).load().migrate();
        long rows = 0;
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (InputStream in = set.item(VaultBackupSource.KEYS)) {
                    rows += TableSnapshot.load(c, in);
                    in.transferTo(OutputStream.nullOutputStream());
                }
                for (String item : List.of(VaultBackupSource.INDEX, VaultBackupSource.AUDIT)) {
                    try (InputStream raw = set.item(item);
                         InputStream in = envelopes.opening(BackupKeys.itemContext(set.id(), item), raw)) {
                        rows += TableSnapshot.load(c, in);
                        raw.transferTo(OutputStream.nullOutputStream()); // reaches the end: the item's hash is checked
                    }
                    progress.update("index", rows, -1, 0);
                }
                c.commit();
            } catch (IOException | SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
        Flyway.configure().dataSource(db).locations("classpath:db/migration").load().migrate();
        IndexMaintenance.analyzeAll(db); // a bulk load: without statistics, PostgreSQL would plan the first queries blind
        return rows;
    }

    /**
     * Destroys the erased keys in the restored registry and removes their compartments' rows;
     * returns the object keys those rows had, which are not copied.
     */
    private static Set<String> removeErased(SingleConnectionDataSource db, RootKeyProvider root, Set<String> erased) {
        JdbcTemplate jdbc = new JdbcTemplate(db);
        Keyring restoredKeys = new Keyring(root, new JdbcKekRegistry(jdbc));
        Set<String> objects = new HashSet<>();
        for (String kekId : erased) {
            restoredKeys.destroyKek(kekId);
            objects.addAll(CompartmentErasure.removeRows(jdbc, VaultApplication.TENANT, kekId).objectKeys());
        }
        return objects;
    }

    private static void writeHomeFiles(SetReader set, EnvelopeCipher envelopes, VaultHome home) throws IOException {
        Map<String, byte[]> files = new HashMap<>();
        try (InputStream raw = set.item(VaultBackupSource.VAULT_FILES);
             InputStream in = envelopes.opening(BackupKeys.itemContext(set.id(), VaultBackupSource.VAULT_FILES), raw);
             JsonParser p = new JsonFactory().createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BackupException("backup set " + set.id() + ": the vault files item is malformed");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (!VaultBackupSource.HOME_FILES.contains(name)) {
                    throw new BackupException("backup set " + set.id() + ": the vault files item names an unexpected file");
                }
                files.put(name, Base64.getDecoder().decode(p.nextTextValue()));
            }
            raw.transferTo(OutputStream.nullOutputStream());
        }
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            OwnerOnlyFiles.writeAtomically(home.root().resolve(f.getKey()), f.getValue());
        }
    }

    private static void writeAuditCheckpoints(SetReader set, VaultStores.StoreBucket audit) {
        String text = new String(set.itemBytes(VaultBackupSource.AUDIT_CHECKPOINTS), StandardCharsets.US_ASCII);
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                String[] parts = line.split(" ");
                audit.store().put(audit.bucket(), AuditCheckpoints.objectName(Long.parseLong(parts[0])),
                        Base64.getDecoder().decode(parts[1]), Map.of());
            }
        }
    }

    /** Every object: hash checked against the set, opened with its keys and context, written to the restored store. */
    private static void copyObjects(SetReader set, EnvelopeCipher envelopes, Restored restored, int parallelism, Progress progress,
                                    Set<String> erasedObjects) {
        Map<String, EncryptionContext> contexts = new HashMap<>();
        restored.jdbc().query("select object_key, resource_type, resource_id, version_id from resource_version "
                + "where object_key is not null", rs -> {
            contexts.put(rs.getString(1), new EncryptionContext(VaultApplication.TENANT, rs.getString(2), rs.getString(3),
                    String.valueOf(rs.getLong(4))));
        });
        List<ObjectList.Entry> objects = new ArrayList<>();
        for (ObjectList.Entry entry : set.objects()) {
            if (erasedObjects.contains(entry.key())) {
                restored.erasedObjects++;
            } else {
                objects.add(entry);
            }
        }
        if (objects.size() != contexts.size()) {
            restored.fail(new BackupVerifier.Failure(Manifest.OBJECT_LIST, null, "lists " + objects.size()
                    + " objects, the index references " + contexts.size()));
        }
        AtomicLong done = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        ExecutorService workers = fr.hdsvault.backup.Workers.pool("restore-copy", parallelism);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (ObjectList.Entry entry : objects) {
                futures.add(workers.submit(() -> {
                    try {
                        byte[] content = set.object(entry);
                        EncryptionContext context = contexts.get(entry.key());
                        if (context == null) {
                            restored.fail(new BackupVerifier.Failure("object", entry.key(), "not referenced by the set's index"));
                        } else {
                            try {
                                envelopes.open(context, content);
                            } catch (RuntimeException e) {
                                restored.fail(new BackupVerifier.Failure("object", entry.key(),
                                        "does not open under its keys (authentication failed: tampered, swapped or wrong key)"));
                                return;
                            }
                            restored.objectBucket.store().put(restored.objectBucket.bucket(), entry.key(), content, Map.of());
                            bytes.addAndGet(content.length);
                        }
                    } catch (SetReader.ObjectFault e) {
                        restored.fail(new BackupVerifier.Failure("object", e.key(), e.problem()));
                    }
                    progress.update("objects", done.incrementAndGet(), objects.size(), bytes.get());
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (Exception e) {
            throw new BackupException("restoring objects failed: " + e.getMessage(), e);
        } finally {
            workers.shutdownNow();
        }
        restored.objects = done.get();
        restored.bytes = bytes.get();
    }
}
