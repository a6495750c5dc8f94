package fr.hdsvault.crypto;

import fr.hdsvault.crypto.root.RootKeyProvider;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The key hierarchy below the root key: key-encryption keys (KEKs), one per scope (a patient
 * compartment, or a tenant), AES-256, versioned, persisted wrapped in a {@link KekRegistry},
 * and held unwrapped in a bounded, time-limited cache.
 *
 * <p>KEK ids are chosen by the caller and written in clear into every envelope header, so
 * they must be opaque: never a patient identifier or name.
 */
public final class Keyring {

    private static final int KEY_BYTES = 32;

    private final RootKeyProvider root;
    private final KekRegistry registry;
    private final Clock clock;
    private final Duration cacheTtl;
    private final int cacheCapacity;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, CachedKek> cache;

    private record CachedKek(Kek kek, Instant expiresAt) {
    }

    /**
     * How long this node seals under the version of a KEK it last read as the newest without
     * reading the registry again: a seal no longer costs a query. A rotation on this node is seen
     * at once; on another node, when the key-change watch drops the key (seconds), or after this.
     */
    static final Duration LATEST_TTL = Duration.ofSeconds(10);

    private record Latest(int version, Instant expiresAt) {
    }

    private final Map<String, Latest> latest = new java.util.concurrent.ConcurrentHashMap<>();

    /** Summary of a root key rotation: KEK records rewrapped under the new version. */
    public record RootRotation(int newRootKeyVersion, long rewrapped, long skippedDestroyed) {
    }

    public Keyring(RootKeyProvider root, KekRegistry registry) {
        this(root, registry, Duration.ofMinutes(10), 10_000, Clock.systemUTC());
    }

    public Keyring(RootKeyProvider root, KekRegistry registry, Duration cacheTtl, int cacheCapacity, Clock clock) {
        this.root = root;
        this.registry = registry;
        this.cacheTtl = cacheTtl;
        this.cacheCapacity = cacheCapacity;
        this.clock = clock;
        this.cache = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CachedKek> eldest) {
                return size() > Keyring.this.cacheCapacity;
            }
        };
    }

    public RootKeyProvider rootKeyProvider() {
        return root;
    }

    KekRegistry registry() {
        return registry;
    }

    /** The newest version of a KEK, created (version 1) on first use. */
    Kek currentKek(String kekId) {
        Instant now = clock.instant();
        Latest known = latest.get(kekId);
        if (known != null && known.expiresAt().isAfter(now)) {
            return kek(kekId, known.version());
        }
        Optional<KekRecord> newest = registry.latest(kekId);
        if (newest.isEmpty()) {
            createVersion(kekId, 1);
            newest = registry.latest(kekId);
        }
        KekRecord record = newest.orElseThrow();
        Kek kek = kek(kekId, record.version()); // throws for a destroyed KEK: nothing kept
        if (latest.size() >= cacheCapacity) {
            latest.clear();
        }
        latest.put(kekId, new Latest(record.version(), now.plus(LATEST_TTL)));
        return kek;
    }

    /** One given version, from the cache or unwrapped from the registry. */
    Kek kek(String kekId, int version) {
        String cacheKey = kekId + '\u0000' + version;
        Instant now = clock.instant();
        synchronized (cache) {
            CachedKek cached = cache.get(cacheKey);
            if (cached != null && cached.expiresAt().isAfter(now)) {
                return cached.kek();
            }
        }
        KekRecord record = registry.find(kekId, version)
                .orElseThrow(() -> new WrongKeyException("KEK " + kekId + " v" + version + " is not in this key registry"));
        if (record.destroyed()) {
            throw new KeyDestroyedException("KEK " + kekId + " v" + version + " was destroyed at "
                    + record.destroyedAt() + ": data sealed under it is permanently unreadable");
        }
        byte[] material = root.unwrap(record.rootKeyVersion(), record.wrappedKey());
        Kek kek = new Kek(kekId, version, material);
        Arrays.fill(material, (byte) 0);
        synchronized (cache) {
            cache.put(cacheKey, new CachedKek(kek, now.plus(cacheTtl)));
        }
        return kek;
    }

    /** Current version number of a KEK, or empty if it was never created. */
    public Optional<Integer> currentVersion(String kekId) {
        return registry.latest(kekId).map(KekRecord::version);
    }

    /**
     * Creates a new version of a KEK; new envelopes use it, old versions keep opening.
     * @return the new version number
     */
    public int rotateKek(String kekId) {
        while (true) {
            int next = registry.latest(kekId).map(r -> {
                if (r.destroyed()) {
                    throw new KeyDestroyedException("KEK " + kekId + " was destroyed; it cannot be rotated");
                }
                return r.version() + 1;
            }).orElse(1);
            if (createVersion(kekId, next)) {
                latest.remove(kekId);
                return next;
            }
        }
    }

    /**
     * Crypto-shredding: erases every version of a KEK from the registry and this cache. Every
     * envelope sealed under it becomes permanently unreadable ({@link KeyDestroyedException}).
     * Copies of the registry in backups are the backup module's concern.
     * @return the number of versions destroyed
     */
    public int destroyKek(String kekId) {
        Instant now = clock.instant();
        int destroyed = 0;
        for (KekRecord r : registry.versions(kekId)) {
            if (!r.destroyed() && registry.replace(r.tombstone(now), r.rootKeyVersion())) {
                destroyed++;
            }
        }
        forget(kekId);
        return destroyed;
    }

    /**
     * Root key rotation: creates a new root key version and rewraps every live KEK record under
     * it. Envelopes are untouched (they hold DEKs wrapped by KEKs, not by the root key). Old
     * root versions stay in the provider for older backups.
     */
    public RootRotation rotateRootKey() {
        int newVersion = root.rotate();
        long rewrapped = 0;
        long skipped = 0;
        String afterId = "";
        int afterVersion = 0;
        while (true) {
            List<KekRecord> page = registry.listAfter(afterId, afterVersion, 500);
            if (page.isEmpty()) {
                return new RootRotation(newVersion, rewrapped, skipped);
            }
            for (KekRecord r : page) {
                if (r.destroyed()) {
                    skipped++;
                } else if (r.rootKeyVersion() != newVersion) {
                    byte[] material = root.unwrap(r.rootKeyVersion(), r.wrappedKey());
                    RootKeyProvider.Wrapped wrapped = root.wrap(material);
                    Arrays.fill(material, (byte) 0);
                    if (registry.replace(r.rewrapped(wrapped.rootKeyVersion(), wrapped.bytes()), r.rootKeyVersion())) {
                        rewrapped++;
                    }
                }
                afterId = r.kekId();
                afterVersion = r.version();
            }
        }
    }

    /**
     * A 256-bit HMAC key kept like a KEK (wrapped by the root key, in the registry), e.g. a
     * tenant's blind-index key. Not rotated: rotating an index key means re-indexing.
     */
    public SecretKey hmacKey(String keyId) {
        return new SecretKeySpec(secret(keyId), "HmacSHA256");
    }

    /**
     * A 256-bit secret of the vault's own (a signing key's seed, an HMAC key), kept like a KEK:
     * wrapped by the root key in the registry, created at random on first use, never stored in
     * clear. The caller should clear the returned array once it has derived what it needs.
     */
    public byte[] secret(String keyId) {
        return currentKek(keyId).key.getEncoded();
    }

    /**
     * Keeps a secret that exists already (one that a previous version kept elsewhere) under this
     * id, wrapped by the root key, unless the id holds a secret already.
     * @return true if it was stored, false if the id already had one (which is kept)
     */
    public boolean importSecret(String keyId, byte[] secret) {
        if (secret.length != KEY_BYTES) {
            throw new IllegalArgumentException("a secret is " + KEY_BYTES + " bytes");
        }
        if (registry.latest(keyId).isPresent()) {
            return false;
        }
        RootKeyProvider.Wrapped wrapped = root.wrap(secret);
        return registry.insert(new KekRecord(keyId, 1, wrapped.rootKeyVersion(), wrapped.bytes(), clock.instant(), null));
    }

    /**
     * Drops every cached version of one KEK: the next use reads the registry again (another node
     * destroyed or rotated it).
     */
    public void forget(String kekId) {
        latest.remove(kekId);
        synchronized (cache) {
            cache.keySet().removeIf(k -> k.startsWith(kekId + '\u0000'));
        }
    }

    /** Drops every unwrapped key from memory (e.g. on shutdown or after a root rotation). */
    public void clearCache() {
        latest.clear();
        synchronized (cache) {
            cache.clear();
        }
    }

    private boolean createVersion(String kekId, int version) {
        byte[] material = new byte[KEY_BYTES];
        random.nextBytes(material);
        RootKeyProvider.Wrapped wrapped = root.wrap(material);
        Arrays.fill(material, (byte) 0);
        return registry.insert(new KekRecord(kekId, version, wrapped.rootKeyVersion(), wrapped.bytes(),
                clock.instant(), null));
    }
}
