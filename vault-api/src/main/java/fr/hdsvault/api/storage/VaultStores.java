package fr.hdsvault.api.storage;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.storage.StoresProperties.Role;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.StoreCapabilities;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vault's S3 stores, opened from {@link StoresProperties} the same way by every command
 * (serve, audit verify, restore): an external server through its endpoint, else an embedded
 * server in the data directory. Stores on one endpoint share one client (the audit bucket
 * usually sits beside the records). Owns what it opened, until closed.
 *
 * <p>Before a bucket is used, its region is checked: the one the server reports
 * (GetBucketLocation) for an external server, the declared one for the embedded server, which
 * stores none ("declared, not verified"). {@link #prepare} also probes versioning and Object
 * Lock, and refuses an external audit or backup bucket without Object Lock unless the operator
 * allowed it ({@code vault.stores.allow-without-object-lock}).
 */
public final class VaultStores implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(VaultStores.class);

    /** A bucket of one store, and where it is (an endpoint, or the embedded server's directory). */
    public record StoreBucket(ObjectStore store, String bucket, boolean external, String location) {
        public String describe() {
            return bucket + " on " + location;
        }
    }

    private final StoresProperties settings;
    private final Map<String, String> env;
    private final Path embeddedDirectory;
    private final Path backupDirectory;
    private final Map<String, S3ObjectStore> clients = new HashMap<>();
    private final Map<Role, StoreBucket> buckets = new EnumMap<>(Role.class);
    private final Map<Role, StoreCapabilities> probed = new EnumMap<>(Role.class);
    private final Map<Path, EmbeddedS3Server> servers = new HashMap<>();

    /**
     * @param embeddedDirectory where the embedded store of the records and the audit lives, when not external
     * @param backupDirectory   where an embedded backup store lives, when not external
     */
    public VaultStores(StoresProperties settings, Map<String, String> env, Path embeddedDirectory, Path backupDirectory) {
        this.settings = settings;
        this.env = env;
        this.embeddedDirectory = embeddedDirectory;
        this.backupDirectory = backupDirectory;
    }

    /** The stores of a data directory: embedded ones in {@code DIR/s3} and {@code DIR/backup-s3}. */
    public static VaultStores of(StoresProperties settings, VaultHome home) {
        return new VaultStores(settings, System.getenv(), home.s3(), home.root().resolve("backup-s3"));
    }

    public StoresProperties settings() {
        return settings;
    }

    /** The bucket of a role, its store opened on first use (no request is sent yet). */
    public synchronized StoreBucket bucket(Role role) {
        return buckets.computeIfAbsent(role, this::open);
    }

    private StoreBucket open(Role role) {
        StoresProperties.Store store = settings.store(role);
        String bucket = settings.bucket(role);
        if (store.external()) {
            String endpoint = store.endpoint().strip();
            // One client per endpoint and credentials: the audit bucket without a store of its own shares the primary's.
            boolean shared = role == Role.PRIMARY || role == Role.AUDIT && !settings.audit().external();
            S3ObjectStore client = clients.computeIfAbsent(shared ? endpoint : role + " " + endpoint, k -> {
                S3StoreConfig config = S3StoreConfig.external(endpoint, settings.credentials(role, env), store.region())
                        .withResidency(settings.residency());
                return new S3ObjectStore(store.trustStore() == null ? config : config.withTrustedCertificates(store.trustStore()));
            });
            return new StoreBucket(client, bucket, true, endpoint);
        }
        Path directory = role == Role.BACKUP ? backupDirectory : embeddedDirectory;
        if (directory == null) {
            throw new IllegalArgumentException("the " + role.name().toLowerCase(java.util.Locale.ROOT)
                    + " store has no endpoint and no embedded directory here");
        }
        S3ObjectStore client = clients.computeIfAbsent("embedded " + directory, k -> {
            EmbeddedS3Server server = EmbeddedS3Server.start(directory);
            servers.put(directory, server);
            return new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), store.region())
                    .withResidency(settings.residency()));
        });
        return new StoreBucket(client, bucket, false, "the embedded store in " + directory);
    }

    /** The embedded server behind a role's store, if it is embedded and open (for fault tests and evidence). */
    public synchronized java.util.Optional<EmbeddedS3Server> embeddedServer(Role role) {
        StoreBucket b = buckets.get(role);
        if (b == null || b.external()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.ofNullable(servers.get(role == Role.BACKUP ? backupDirectory : embeddedDirectory));
    }

    /**
     * Creates the bucket of a role if it does not exist, checks its region, probes what it
     * enforces and says so in the log, and applies the Object Lock policy.
     *
     * @throws fr.hdsvault.storage.ResidencyViolationException outside the allowed regions
     * @throws IllegalStateException an external audit or backup bucket without Object Lock, not allowed
     */
    public StoreCapabilities prepare(Role role, BucketOptions options) {
        StoreBucket b = bucket(role);
        b.store().createBucket(b.bucket(), options);
        StoreCapabilities capabilities = b.store().probe(b.bucket());
        synchronized (this) {
            probed.put(role, capabilities);
        }
        String name = role.name().toLowerCase(java.util.Locale.ROOT);
        log.warn("{} store ({}): {}", name, b.location(), capabilities.describe());
        if (b.external() && options.objectLock() && !capabilities.objectLockEnforced()) {
            if (!settings.allowWithoutObjectLock()) {
                throw new IllegalStateException("the " + name + " bucket " + b.describe() + " does not enforce S3 Object Lock, "
                        + "so its objects can be deleted or overwritten: create it with Object Lock, or accept the risk with "
                        + "vault.stores.allow-without-object-lock=true");
            }
            log.warn("{} store: the bucket {} does NOT enforce Object Lock; accepted by vault.stores.allow-without-object-lock",
                    name, b.describe());
        }
        return capabilities;
    }

    /** What the last {@link #prepare} of a role found, if it ran. */
    public synchronized java.util.Optional<StoreCapabilities> capabilities(Role role) {
        return java.util.Optional.ofNullable(probed.get(role));
    }

    /** Checks the region of a role's bucket without writing anything (read-only commands). */
    public StoreBucket requireResident(Role role) {
        StoreBucket b = bucket(role);
        b.store().checkResidency(b.bucket());
        return b;
    }

    @Override
    public synchronized void close() {
        clients.values().forEach(S3ObjectStore::close);
        servers.values().forEach(EmbeddedS3Server::close);
        clients.clear();
        servers.clear();
        buckets.clear();
    }
}
