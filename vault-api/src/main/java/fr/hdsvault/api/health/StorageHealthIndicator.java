package fr.hdsvault.api.health;

import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.ObjectStoreException;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/** Ready when the object bucket answers and lies within the residency policy. */
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
            store.list(bucket, "", null, 1);
            builder.up();
        } catch (ObjectStoreException e) {
            builder.down().withDetail("error", e.getClass().getSimpleName());
        }
    }
}
