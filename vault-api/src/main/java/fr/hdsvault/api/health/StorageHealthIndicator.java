package fr.hdsvault.api.health;

import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.storage.ObjectStoreException;
import fr.hdsvault.storage.StoreCapabilities;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Ready when the records' bucket answers and lies within the residency policy. The check is
 * one HEAD of a key that does not exist: it proves the server answers and accepts the vault's
 * credentials, in constant time. (Listing the bucket, even one key of it, made the embedded
 * server walk every object: 12-27 s per probe with 40,000 objects, and probes piled up.)
 * Operators and auditors also see where the bucket's region comes from: reported by the
 * server, or, for the embedded store, declared and not verified.
 */
public final class StorageHealthIndicator extends AbstractHealthIndicator {

    private final VaultStores stores;

    public StorageHealthIndicator(VaultStores stores) {
        this.stores = stores;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        VaultStores.StoreBucket objects = stores.bucket(StoresProperties.Role.PRIMARY);
        stores.capabilities(StoresProperties.Role.PRIMARY).map(StoreCapabilities::residency)
                .ifPresent(r -> builder.withDetail("residency", r));
        try {
            objects.store().checkResidency(objects.bucket());
            objects.store().exists(objects.bucket(), ".health/probe");
            builder.up();
        } catch (ObjectStoreException e) {
            builder.down().withDetail("error", e.getClass().getSimpleName());
        }
    }
}
