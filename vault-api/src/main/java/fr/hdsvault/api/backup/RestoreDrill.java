package fr.hdsvault.api.backup;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.backup.BackupException;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.BackupVerifier;
import fr.hdsvault.backup.Progress;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A restore drill: restores a set into scratch space exactly as a disaster recovery would
 * ({@link VaultRestore}: signature, every item hash, every object hashed and opened with its
 * keys, index loaded and migrated, audit trail verified), compares a random sample of the
 * restored versions with the live vault's, measures RTO and RPO against their targets, and
 * removes the scratch space whatever happened.
 */
public final class RestoreDrill {

    /** What a drill needs to know of the live vault and its targets. */
    public record Settings(Path scratchRoot, Duration rtoTarget, Duration rpoTarget, int sampleSize, int parallelism) {
    }

    private final BackupTarget target;
    private final Keyring liveKeyring;
    private final VaultStores.StoreBucket live;
    private final JdbcTemplate liveJdbc;
    private final byte[] auditPublicKey;
    private final Settings settings;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public RestoreDrill(BackupTarget target, Keyring liveKeyring, VaultStores.StoreBucket live, JdbcTemplate liveJdbc,
                        byte[] auditPublicKey, Settings settings, Clock clock) {
        this.target = target;
        this.liveKeyring = liveKeyring;
        this.live = live;
        this.liveJdbc = liveJdbc;
        this.auditPublicKey = auditPublicKey;
        this.settings = settings;
        this.clock = clock;
    }

    public DrillReport run(String drillId, String backupId, String trigger, Instant started, Progress progress) {
        List<DrillReport.Failure> failures = new ArrayList<>();
        String setId = backupId;
        Instant pointInTime = null;
        Double rto = null;
        long objects = 0;
        long bytes = 0;
        long rows = 0;
        int compared = 0;
        String audit = null;
        Path scratch = settings.scratchRoot().resolve(drillId);
        try {
            if (setId == null) {
                setId = target.latestComplete().map(BackupTarget.SetInfo::id)
                        .orElseThrow(() -> new BackupException("there is no complete backup set to drill"));
            }
            long t0 = System.nanoTime();
            // Scratch space is local: embedded stores in the scratch directory, whatever the live vault's stores are.
            try (VaultRestore.Restored restored = VaultRestore.restore(target, setId, liveKeyring.rootKeyProvider(), scratch,
                    StoresProperties.embedded(), null, null, null, auditPublicKey, settings.parallelism(), progress)) {
                rto = (System.nanoTime() - t0) / 1e9;
                pointInTime = restored.manifest().pointInTime();
                objects = restored.objects();
                bytes = restored.bytes();
                rows = restored.rows();
                for (BackupVerifier.Failure f : restored.failures()) {
                    failures.add(new DrillReport.Failure(f.item(), f.objectKey(), f.problem()));
                }
                audit = restored.audit().message();
                if (!restored.audit().ok()) {
                    failures.add(new DrillReport.Failure("audit", null, restored.audit().message()));
                }
                compared = compareSample(restored, failures);
            }
        } catch (BackupException e) {
            failures.add(new DrillReport.Failure("restore", null, e.getMessage()));
        } catch (RuntimeException e) {
            failures.add(new DrillReport.Failure("restore", null, "unexpected failure: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage())));
        } finally {
            deleteRecursively(scratch);
        }
        boolean scratchRemoved = !Files.exists(scratch);
        if (!scratchRemoved) {
            failures.add(new DrillReport.Failure("cleanup", null, "the scratch space could not be removed"));
        }
        Double rpo = pointInTime == null ? null : Duration.between(pointInTime, started).toMillis() / 1000.0;
        if (rto != null && rto > settings.rtoTarget().toSeconds()) {
            failures.add(new DrillReport.Failure("rto", null, String.format("the restore took %.1f s, over the target of %d s",
                    rto, settings.rtoTarget().toSeconds())));
        }
        if (rpo != null && rpo > settings.rpoTarget().toSeconds()) {
            failures.add(new DrillReport.Failure("rpo", null, String.format("the set is %.0f s old, over the target of %d s",
                    rpo, settings.rpoTarget().toSeconds())));
        }
        return new DrillReport(drillId, failures.isEmpty() ? DrillReport.PASSED : DrillReport.FAILED, trigger, setId, started,
                clock.instant(), pointInTime, rto, rpo, settings.rtoTarget().toSeconds(), settings.rpoTarget().toSeconds(), objects,
                bytes, rows, compared, audit, scratchRemoved, List.copyOf(failures));
    }

    private record Version(String type, String id, long version, String objectKey) {
    }

    /**
     * Random versions of the restored set, opened there and in the live vault (the same
     * version: the live resource may have moved on since), must be byte-identical.
     */
    private int compareSample(VaultRestore.Restored restored, List<DrillReport.Failure> failures) {
        List<Version> versions = new ArrayList<>(restored.jdbc().query("select resource_type, resource_id, version_id, object_key "
                        + "from resource_version where tenant = ? and object_key is not null",
                (rs, n) -> new Version(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4)), VaultApplication.TENANT));
        Collections.shuffle(versions, random);
        EnvelopeCipher restoredEnvelopes = new EnvelopeCipher(restored.keyring());
        EnvelopeCipher liveEnvelopes = new EnvelopeCipher(liveKeyring);
        int compared = 0;
        for (Version v : versions.subList(0, Math.min(settings.sampleSize(), versions.size()))) {
            EncryptionContext context = new EncryptionContext(VaultApplication.TENANT, v.type(), v.id(), String.valueOf(v.version()));
            byte[] restoredJson;
            try {
                restoredJson = restoredEnvelopes.open(context, restored.objectBucket().store().getBytes(restored.objectBucket().bucket(),
                        v.objectKey()));
            } catch (RuntimeException e) {
                failures.add(new DrillReport.Failure("sample", v.objectKey(), "cannot be read from the restored vault"));
                continue;
            }
            List<String> liveKey = liveJdbc.queryForList("select object_key from resource_version where tenant = ? and "
                    + "resource_type = ? and resource_id = ? and version_id = ?", String.class, VaultApplication.TENANT, v.type(),
                    v.id(), v.version());
            if (liveKey.isEmpty() || liveKey.get(0) == null) {
                failures.add(new DrillReport.Failure("sample", v.objectKey(), "the live vault has no such version"));
                continue;
            }
            try {
                byte[] liveJson = liveEnvelopes.open(context, live.store().getBytes(live.bucket(), liveKey.get(0)));
                if (!Arrays.equals(liveJson, restoredJson)) {
                    failures.add(new DrillReport.Failure("sample", v.objectKey(), "differs from the live vault's same version"));
                } else {
                    compared++;
                }
            } catch (RuntimeException e) {
                failures.add(new DrillReport.Failure("sample", v.objectKey(), "the live vault's copy cannot be read"));
            }
        }
        return compared;
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // reported by the caller: the directory still exists
        }
    }
}
