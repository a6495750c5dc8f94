package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.storage.ObjectStore;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Erasure of one patient by crypto-shredding: the key of its compartment is destroyed, so every
 * version of every resource in it, in the store and in every backup set, can never be opened
 * again; then its index rows and objects are removed. In this order:
 * <ol>
 *   <li>the key is recorded as erased in the backup store, apart from the sets ({@link BackupTarget#recordErasedKey}):
 *       every later restore destroys it again; if the backup store cannot take it, nothing happens;</li>
 *   <li>the key is destroyed (every node drops it within seconds: {@code KeyChanges});</li>
 *   <li>the compartment's index rows go ({@link CompartmentErasure}), in one transaction;</li>
 *   <li>its objects are deleted from the store (best effort: they are unreadable already).</li>
 * </ol>
 * Each step is idempotent: an erasure interrupted after the key was destroyed is finished by
 * running it again.
 */
public final class PatientErasure {

    private static final Logger log = LoggerFactory.getLogger(PatientErasure.class);

    /** What an erasure did. */
    public record Result(String kekId, int keyVersionsDestroyed, long versionsRemoved, long objectsDeleted, long objectsNotDeleted) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Keyring keyring;
    private final BackupTarget backups;
    private final ObjectStore records;
    private final String recordsBucket;
    private final String tenant;
    private final Clock clock;

    public PatientErasure(JdbcTemplate jdbc, TransactionTemplate tx, Keyring keyring, BackupTarget backups, ObjectStore records,
                          String recordsBucket, String tenant, Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.keyring = keyring;
        this.backups = backups;
        this.records = records;
        this.recordsBucket = recordsBucket;
        this.tenant = tenant;
        this.clock = clock;
    }

    /** Erases {@code Patient/id}; empty when nothing was ever stored in its compartment. */
    public Optional<Result> erase(String patientId) {
        if (!FhirIds.valid(patientId)) {
            throw new IllegalArgumentException("not a resource id");
        }
        Optional<String> kek = CompartmentErasure.kekOf(jdbc, tenant, "Patient/" + patientId);
        if (kek.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(eraseKey(kek.get()));
    }

    /** Erases every compartment sealed under {@code kekId}: the steps above, for one key. */
    public Result eraseKey(String kekId) {
        backups.recordErasedKey(kekId, clock.instant());
        int destroyed = keyring.destroyKek(kekId);
        CompartmentErasure.Removed removed = tx.execute(status -> CompartmentErasure.removeRows(jdbc, tenant, kekId));
        long deleted = 0;
        long left = 0;
        for (String key : removed.objectKeys()) {
            try {
                records.delete(recordsBucket, key);
                deleted++;
            } catch (RuntimeException e) {
                left++;
            }
        }
        if (left > 0) { // unreadable already; the store's own lifecycle, or a second erasure, removes them
            log.warn("erasure: {} objects of key {} could not be deleted from the store", left, kekId);
        }
        return new Result(kekId, destroyed, removed.versions(), deleted, left);
    }
}
