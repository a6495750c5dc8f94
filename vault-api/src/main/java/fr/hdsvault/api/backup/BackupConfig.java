package fr.hdsvault.api.backup;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.JdbcLock;
import fr.hdsvault.backup.Retention;
import fr.hdsvault.backup.ScheduleSlots;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.StoreUnavailableException;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.scheduling.Trigger;
import org.springframework.scheduling.TriggerContext;
import org.springframework.scheduling.support.CronTrigger;

/**
 * Wires backups: the target (the backup store of {@code vault.stores}: a remote S3/MinIO
 * endpoint, or a second embedded store under {@code DIR/backup-s3} standing for a second site), the retention policy, restore drills, the
 * lock, and the two schedules. Settings and defaults: docs/backup.md.
 */
@Configuration
public class BackupConfig {

    private static final Logger log = LoggerFactory.getLogger(BackupConfig.class);

    /** The backup store (owned by {@link VaultStores}) and the target on it; one bean, so that it is not mistaken for the primary store. */
    public record BackupStorage(ObjectStore store, BackupTarget target) {
    }

    /**
     * The backup bucket, prepared at start-up. A store that does not answer does not stop the
     * vault (backups fail loudly until it answers); one outside the allowed regions, or an
     * external one without Object Lock that the operator did not accept, does.
     */
    @Bean
    BackupStorage backupStorage(VaultStores stores, @Value("${vault.backup.object-lock:30d}") Duration objectLock) {
        VaultStores.StoreBucket bucket = stores.bucket(StoresProperties.Role.BACKUP);
        try {
            stores.prepare(StoresProperties.Role.BACKUP, BucketOptions.locked(objectLock));
        } catch (StoreUnavailableException e) {
            log.error("backup store unavailable at start-up: {}", e.getMessage());
        }
        return new BackupStorage(bucket.store(), new BackupTarget(bucket.store(), bucket.bucket()));
    }

    @Bean(destroyMethod = "close")
    BackupService backupService(BackupStorage storage, DataSource db, JdbcTemplate jdbc, Keyring keyring,
                                fr.hdsvault.api.index.IndexDurability durability,
                                @Qualifier("objectBucket") VaultStores.StoreBucket objectBucket,
                                VaultHome home, VaultIdentity identity, AuditTrail trail,
                                fr.hdsvault.crypto.sign.Ed25519.SigningKey auditSigningKey,
                                AuditEvents events,
                                @Value("${vault.backup.parallelism:8}") int parallelism,
                                @Value("${vault.backup.keep-last:7}") int keepLast,
                                @Value("${vault.backup.keep-daily:7}") int keepDaily,
                                @Value("${vault.backup.keep-weekly:5}") int keepWeekly,
                                @Value("${vault.backup.keep-monthly:12}") int keepMonthly,
                                @Value("${vault.backup.zone:Europe/Paris}") ZoneId zone,
                                @Value("${vault.backup.lock-ttl:60s}") Duration lockTtl,
                                @Value("${vault.drill.rto-target:4h}") Duration rtoTarget,
                                @Value("${vault.drill.rpo-target:24h}") Duration rpoTarget,
                                @Value("${vault.drill.sample-size:100}") int sampleSize,
                                @Value("${vault.drill.scratch-dir:}") String scratchDir) {
        Clock clock = Clock.systemUTC();
        Path scratch = scratchDir.isBlank() ? home.root().resolve("drills") : Path.of(scratchDir);
        RestoreDrill drill = new RestoreDrill(storage.target(), keyring, objectBucket, jdbc,
                auditSigningKey.publicKey(),
                new RestoreDrill.Settings(scratch, rtoTarget, rpoTarget, sampleSize, parallelism), clock);
        VaultBackupSource source = new VaultBackupSource(db, keyring, objectBucket.store(), objectBucket.bucket(), home,
                identity.vaultId(), clock);
        return new BackupService(storage.target(), source, new JdbcLock(db, lockTtl, durability::sync),
                new Retention(keepLast, keepDaily, keepWeekly, keepMonthly, zone), trail, events,
                drill, jdbc, keyring, parallelism, rtoTarget, rpoTarget, clock);
    }

    /** The thread the schedules run on: one, so that a scheduled backup and drill never overlap in an instance. */
    @Bean(destroyMethod = "shutdown")
    ThreadPoolTaskScheduler backupScheduler() {
        // Spring initializes it (afterPropertiesSet); initializing it here too would leave an executor nobody shuts down.
        ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
        scheduler.setPoolSize(1);
        scheduler.setThreadNamePrefix("backup-schedule-");
        scheduler.setDaemon(true);
        return scheduler;
    }

    /**
     * The schedules: {@code vault.backup.cron} (default daily at 02:00) and {@code vault.drill.cron}
     * (default Sundays at 04:00), Spring cron expressions in {@code vault.backup.zone}; "-" turns one off.
     * They start once the application has started. Every node fires them; the node that claims a
     * slot first ({@link ScheduleSlots}) runs it, the others skip it.
     */
    @Bean
    ApplicationRunner backupSchedules(@Qualifier("backupScheduler") ThreadPoolTaskScheduler scheduler, BackupService service,
                                      DataSource db, VaultIdentity identity,
                                      @Value("${vault.backup.cron:0 0 2 * * *}") String backupCron,
                                      @Value("${vault.drill.cron:0 0 4 * * SUN}") String drillCron,
                                      @Value("${vault.backup.zone:Europe/Paris}") ZoneId zone) {
        ScheduleSlots slots = new ScheduleSlots(db);
        return args -> {
            if (!"-".equals(backupCron)) {
                schedule(scheduler, slots, identity.nodeId(), "backup", new CronTrigger(backupCron, zone),
                        () -> service.backup("scheduler"));
                log.info("backups scheduled: '{}' ({})", backupCron, zone);
            }
            if (!"-".equals(drillCron)) {
                schedule(scheduler, slots, identity.nodeId(), "restore drill", new CronTrigger(drillCron, zone),
                        () -> service.drill(null, "scheduler"));
                log.info("restore drills scheduled: '{}' ({})", drillCron, zone);
            }
        };
    }

    private static void schedule(ThreadPoolTaskScheduler scheduler, ScheduleSlots slots, String node, String job, CronTrigger cron,
                                 Runnable run) {
        SlotTrigger trigger = new SlotTrigger(cron);
        scheduler.schedule(() -> {
            Instant slot = trigger.slot;
            try {
                if (!slots.claim(job, slot, node)) {
                    log.info("scheduled {} of {} skipped: another node runs it", job, slot);
                    return;
                }
            } catch (RuntimeException e) {
                log.error("scheduled {} of {} not run: {}", job, slot, e.getMessage());
                return;
            }
            scheduled(job, run);
        }, trigger);
    }

    /**
     * A cron trigger that remembers the time it last named: the slot of the run in progress
     * (Spring asks for the next time only once the run has ended), the same on every node
     * whatever its timer's delay.
     */
    private static final class SlotTrigger implements Trigger {
        private final CronTrigger cron;
        private volatile Instant slot;

        SlotTrigger(CronTrigger cron) {
            this.cron = cron;
        }

        @Override
        public Instant nextExecution(TriggerContext context) {
            Instant next = cron.nextExecution(context);
            slot = next;
            return next;
        }
    }

    private static void scheduled(String what, Runnable run) {
        try {
            run.run();
        } catch (BackupService.BusyException e) {
            log.info("scheduled {} skipped: {}", what, e.getMessage());
        } catch (RuntimeException e) {
            log.error("scheduled {} failed: {}", what, e.getMessage());
        }
    }
}
