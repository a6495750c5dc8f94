package fr.hdsvault.api.resources;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import fr.hdsvault.storage.ObjectStore;
import java.util.Map;
import java.util.function.Function;

/**
 * The records' envelopes in the object store, with a bounded memory cache of their ciphertext.
 * A record's object is written once under a fresh random key and never changed, so a cached
 * copy is never stale and needs no invalidation; what is cached is the envelope as stored
 * (ciphertext), never the clear text: every read still opens it with the record's key and
 * context, so a destroyed key (crypto-shredding) or another record's context still refuse it.
 * Objects enter the cache when written and when read and opened successfully (a damaged object
 * is never cached), and leave it least recently used first, beyond {@code cacheBytes}.
 *
 * <p>What the cache changes: an object altered in the store after it was cached is served as
 * it was written (authentic) until it leaves the cache or the node restarts; the alteration is
 * then refused on read, and found by backup verification and restore drills, which read the
 * store itself. Saves a round trip to the store per read (a third of a read's time on the
 * embedded store; docs/performance.md).
 */
public final class RecordObjects {

    private final ObjectStore store;
    private final String bucket;
    private final Cache<String, byte[]> cache;

    /** @param cacheBytes the cache's bound in bytes of ciphertext; 0 turns it off */
    public RecordObjects(ObjectStore store, String bucket, long cacheBytes) {
        this.store = store;
        this.bucket = bucket;
        this.cache = cacheBytes <= 0 ? null : Caffeine.newBuilder().maximumWeight(cacheBytes)
                .weigher((String key, byte[] envelope) -> envelope.length + key.length() + 64).build();
    }

    /** Stores a new record object, then keeps its ciphertext. */
    public void put(String key, byte[] envelope) {
        store.put(bucket, key, envelope, Map.of());
        if (cache != null) {
            cache.put(key, envelope);
        }
    }

    /**
     * The object's envelope opened by {@code open}; from memory when cached, else from the
     * store, kept once {@code open} has accepted it.
     */
    public <T> T open(String key, Function<byte[], T> open) {
        byte[] cached = cache == null ? null : cache.getIfPresent(key);
        if (cached != null) {
            return open.apply(cached);
        }
        byte[] envelope = store.getBytes(bucket, key);
        T opened = open.apply(envelope); // throws for a damaged object: nothing kept
        if (cache != null) {
            cache.put(key, envelope);
        }
        return opened;
    }

    /** Drops every cached object (tests). */
    public void forget() {
        if (cache != null) {
            cache.invalidateAll();
        }
    }

    /** The number of objects cached (tests). */
    long cachedObjects() {
        if (cache == null) {
            return 0;
        }
        cache.cleanUp();
        return cache.estimatedSize();
    }
}
