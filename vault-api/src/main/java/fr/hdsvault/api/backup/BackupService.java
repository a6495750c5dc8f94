package fr.hdsvault.api.backup;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.backup.BackupException;
import fr.hdsvault.backup.BackupRunner;
import fr.hdsvault.backup.BackupSummary;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.BackupVerifier;
import fr.hdsvault.backup.JdbcLock;
import fr.hdsvault.backup.Progress;
import fr.hdsvault.backup.Retention;
import fr.hdsvault.backup.SetReader;
import fr.hdsvault.backup.TableSnapshot;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * The vault's backup operations: backup runs (then retention), verification, restore drills.
 * Runs and drills take the database lock {@value #LOCK}, so that one runs at a time across
 * every instance sharing the index; each is recorded in the audit trail with its outcome.
 */
public class BackupService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BackupService.class);
    static final String LOCK = "backup-target";
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    /** Another run holds the lock. */
    public static final class BusyException extends RuntimeException {
        BusyException(String holder) {
            super("another backup operation is running (" + holder + "); try again when it ends");
        }
    }

    /** One set as listed: its manifest's figures, and whether it was completed. */
    public record SetView(String id, String status, Instant startedAt, Instant finishedAt, Instant pointInTime, Long objects,
                          Long bytes) {
    }

    private final BackupTarget target;
    private final VaultBackupSource source;
    private final JdbcLock lock;
    private final Retention retention;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final RestoreDrill drill;
    private final JdbcTemplate jdbc;
    private final Keyring keyring;
    private final int parallelism;
    private final Duration rtoTarget;
    private final Duration rpoTarget;
    private final Clock clock;
    private final String instance = "vault-" + UUID.randomUUID();
    private final ExecutorService async = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "restore-drill");
        t.setDaemon(true);
        return t;
    });
    private final JsonMapper json = JsonMapper.builder().build();
    /** Extra progress listener, for tests that inject faults mid-run. */
    private volatile Progress observer = Progress.NONE;

    public BackupService(BackupTarget target, VaultBackupSource source, JdbcLock lock, Retention retention, AuditTrail trail,
                         AuditEvents events, RestoreDrill drill, JdbcTemplate jdbc, Keyring keyring, int parallelism,
                         Duration rtoTarget, Duration rpoTarget, Clock clock) {
        this.target = target;
        this.source = source;
        this.lock = lock;
        this.retention = retention;
        this.trail = trail;
        this.events = events;
        this.drill = drill;
        this.jdbc = jdbc;
        this.keyring = keyring;
        this.parallelism = parallelism;
        this.rtoTarget = rtoTarget;
        this.rpoTarget = rpoTarget;
        this.clock = clock;
    }

    public BackupTarget target() {
        return target;
    }

    /** The recovery point objective: the newest backup set may be this old. */
    public Duration rpoTarget() {
        return rpoTarget;
    }

    /** The recovery time objective: a restore (a drill) may take this long. */
    public Duration rtoTarget() {
        return rtoTarget;
    }

    /** For fault-injection tests: called with every progress update of backup runs. */
    public void observe(Progress progress) {
        this.observer = progress;
    }

    /** Runs a backup now, then applies retention; the summary says whether it completed. */
    public BackupSummary backup(String requester) {
        try (JdbcLock.Held held = acquire()) {
            BackupSummary summary = new BackupRunner(source, target, parallelism, clock)
                    .run(whileHeld(held, Progress.logging(log, "backup", PROGRESS_EVERY).and(observer)));
            log.info(summary.describe());
            if (summary.ok()) {
                try {
                    retention.apply(target);
                } catch (RuntimeException e) {
                    log.error("backup retention failed (sets are kept): {}", e.getMessage());
                }
            }
            audit("backup", requester, summary.ok(), summary.describe(), summary.id());
            return summary;
        }
    }

    public List<SetView> list() {
        return target.sets().stream().map(s -> new SetView(s.id(), s.complete() ? BackupSummary.COMPLETE : "incomplete",
                s.manifest() == null ? null : s.manifest().startedAt(), s.finishedAt(),
                s.manifest() == null ? null : s.manifest().pointInTime(),
                s.manifest() == null ? null : s.manifest().objectCount(), s.manifest() == null ? null : s.manifest().objectBytes()))
                .toList();
    }

    public boolean exists(String id) {
        return BackupTarget.isSetId(id) && target.setIds().contains(id);
    }

    /**
     * Checks a set: signature, items, objects (presence and recorded hashes, or with {@code readData}
     * every byte, opened with the keys of the set's own registry).
     */
    public BackupVerifier.Report verify(String id, boolean readData, String requester) {
        BackupVerifier.Report report = new BackupVerifier(target, parallelism).verify(id,
                BackupKeys.signingKey(keyring).publicKey(), readData, this::authenticator,
                Progress.logging(log, "verify " + id, PROGRESS_EVERY));
        log.info(report.describe());
        audit("backup-verify", requester, report.ok(), report.ok() ? "verified" : report.failureCount() + " problem(s)", id);
        return report;
    }

    /** Opens each object with the set's keys and the context its index snapshot gives it. */
    private BackupVerifier.ObjectAuthenticator authenticator(SetReader set) {
        VaultRestore.SetKeys keys = VaultRestore.openSet(target, set.id(), keyring.rootKeyProvider());
        EnvelopeCipher envelopes = new EnvelopeCipher(keys.keyring());
        Map<String, EncryptionContext> contexts = new HashMap<>();
        try (InputStream raw = set.item(VaultBackupSource.INDEX);
             InputStream in = envelopes.opening(BackupKeys.itemContext(set.id(), VaultBackupSource.INDEX), raw)) {
            TableSnapshot.read(in, (table, columns) -> {
                if (!table.equals("resource_version")) {
                    return values -> {
                    };
                }
                int type = columns.indexOf("resource_type");
                int id = columns.indexOf("resource_id");
                int version = columns.indexOf("version_id");
                int key = columns.indexOf("object_key");
                return values -> {
                    if (values[key] != null) {
                        contexts.put((String) values[key], new EncryptionContext(VaultApplication.TENANT, (String) values[type],
                                (String) values[id], String.valueOf(values[version])));
                    }
                };
            });
            raw.transferTo(OutputStream.nullOutputStream());
        } catch (IOException | SQLException e) {
            throw new BackupException("the set's index cannot be read: " + e.getMessage(), e);
        }
        return (key, ciphertext) -> {
            EncryptionContext context = contexts.get(key);
            if (context == null) {
                throw new BackupException("object not referenced by the set's index");
            }
            try {
                envelopes.open(context, ciphertext);
            } catch (fr.hdsvault.crypto.KeyDestroyedException erased) {
                // an erased patient's object: present with its recorded hash, and unreadable by design
            }
        };
    }

    /** Runs a restore drill now and returns its report. */
    public DrillReport drill(String backupId, String requester) {
        try (JdbcLock.Held held = acquire()) {
            String id = newDrillId();
            Instant started = clock.instant();
            insertRunning(id, backupId, requester, started);
            return finishDrill(id, backupId, requester, started, held);
        }
    }

    /** Starts a drill in the background; the returned report says {@code running}. */
    public DrillReport startDrill(String backupId, String requester) {
        JdbcLock.Held held = acquire();
        try {
            String id = newDrillId();
            Instant started = clock.instant();
            DrillReport running = insertRunning(id, backupId, requester, started);
            async.submit(() -> {
                try (held) {
                    finishDrill(id, backupId, requester, started, held);
                } catch (RuntimeException e) {
                    log.error("restore drill {} could not finish: {}", id, e.getMessage());
                }
            });
            return running;
        } catch (RuntimeException e) {
            held.close();
            throw e;
        }
    }

    /**
     * Progress that stops the work (a {@link fr.hdsvault.backup.BackupException} at the next
     * step) once the lock is lost: another instance may hold it and run meanwhile.
     */
    private static Progress whileHeld(JdbcLock.Held held, Progress progress) {
        return (phase, done, total, bytes) -> {
            if (held.lost()) {
                throw new fr.hdsvault.backup.BackupException("the backup lock was lost (this instance stopped renewing it for longer "
                        + "than its time to live): stopped, another instance may be running");
            }
            progress.update(phase, done, total, bytes);
        };
    }

    private DrillReport finishDrill(String id, String backupId, String requester, Instant started, JdbcLock.Held held) {
        log.info("restore drill {} started ({}), backup set {}", id, requester, backupId == null ? "latest" : backupId);
        DrillReport report = drill.run(id, backupId, requester, started,
                whileHeld(held, Progress.logging(log, "restore drill " + id, PROGRESS_EVERY)));
        jdbc.update("update restore_drill set finished_at = ?, status = ?, backup_id = ?, report = ? where id = ?",
                utc(report.finishedAt()), report.status(), report.backupId(), json.writeValueAsString(report), id);
        log.info("restore drill {} {}: RTO {} s, RPO {} s, {} objects, {} failure(s)", id, report.status(), report.rtoSeconds(),
                report.rpoSeconds(), report.objectsVerified(), report.failures().size());
        audit("restore-drill", requester, DrillReport.PASSED.equals(report.status()),
                report.status() + ", backup " + report.backupId() + ", " + report.failures().size() + " failure(s)", id);
        return report;
    }

    private DrillReport insertRunning(String id, String backupId, String requester, Instant started) {
        DrillReport running = DrillReport.running(id, requester, backupId, started, rtoTarget.toSeconds(), rpoTarget.toSeconds());
        jdbc.update("insert into restore_drill (id, started_at, status, backup_id, report) values (?, ?, ?, ?, ?)",
                id, utc(started), DrillReport.RUNNING, backupId, json.writeValueAsString(running));
        return running;
    }

    public Optional<DrillReport> drillReport(String id) {
        return jdbc.queryForList("select report from restore_drill where id = ?", String.class, id).stream().findFirst()
                .map(text -> json.readValue(text, DrillReport.class));
    }

    public List<DrillReport> drills(int limit) {
        return jdbc.queryForList("select report from restore_drill order by started_at desc limit ?", String.class, limit)
                .stream().map(text -> json.readValue(text, DrillReport.class)).toList();
    }

    private String newDrillId() {
        return "drill-" + BackupTarget.newSetId(clock.instant());
    }

    private JdbcLock.Held acquire() {
        return lock.tryAcquire(LOCK, instance).orElseThrow(() -> new BusyException(lock.holder(LOCK).orElse("unknown holder")));
    }

    private void audit(String operation, String requester, boolean success, String description, String id) {
        try {
            trail.record(List.of(events.operation(operation, requester, success, description, id, clock.instant())));
        } catch (RuntimeException e) {
            log.error("the audit trail did not record {} {}: {}", operation, id, e.getMessage());
        }
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    @Override
    public void close() {
        async.shutdownNow();
    }
}
