package fr.hdsvault.api.health;

import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.ObjectStoreException;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Ready when the object bucket answers and lies within the residency policy. The check is one
 * HEAD of a key that does not exist: it proves the server answers and accepts the vault's
 * credentials, in constant time. (Listing the bucket, even one key of it, made the embedded
 * server walk every object: 12-27 s per probe with 40,000 objects, and probes piled up.)
 */
public final class StorageHealthIndicator extends AbstractHealthIndicator {

    private final ObjectStore store;
    private final String bucket;

    public StorageHealthIndicator(ObjectStore store, String bucket) {
        this.store = store;
        this.bucket = bucket;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        try {
            store.checkResidency(bucket);
            store.exists(bucket, ".health/probe");
            builder.up();
        } catch (ObjectStoreException e) {
            builder.down().withDetail("error", e.getClass().getSimpleName());
        }
    }
}
