package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.backup.BackupConfig;
import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.backup.BackupTarget;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The schedules on a running vault, with fast crons: backups every 2 seconds with retention
 * keeping the last 2, restore drills every 5 seconds. Scheduled runs are audited, drills pass,
 * and retention leaves exactly the newest two complete sets.
 */
class BackupScheduleTest {

    @TempDir
    Path dir;

    @Test
    void scheduledBackupsAndDrillsRunAndRetentionKeepsTheNewestSets() throws Exception {
        Path home = dir.resolve("vault");
        Map<String, Object> settings = Map.of("vault.backup.cron", "*/2 * * * * *", "vault.drill.cron", "*/5 * * * * *",
                "vault.backup.keep-last", "2", "vault.backup.keep-daily", "0", "vault.backup.keep-weekly", "0",
                "vault.backup.keep-monthly", "0", "vault.audit.checkpoint-every", "5");
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            String token = BackupRestoreTest.practitioner(home);
            for (int i = 0; i < 5; i++) {
                vault.send("POST", "/fhir/Observation", token, AccessControlTest.observation(null, "scheduled-patient"));
            }
            JdbcTemplate db = vault.context.getBean(JdbcTemplate.class);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (count(db, "select count(*) from audit_event where subtype = 'backup' and outcome = 0") < 3
                    || count(db, "select count(*) from restore_drill where status = 'passed'") < 1) {
                assertThat(System.nanoTime()).as("three scheduled backups and one passed drill").isLessThan(deadline);
                Thread.sleep(200);
            }

            // Park the next scheduled backup at its start: the single scheduler thread waits there, nothing else runs.
            CountDownLatch parked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean once = new AtomicBoolean();
            BackupService service = vault.context.getBean(BackupService.class);
            service.observe((phase, done, total, bytes) -> {
                if (once.compareAndSet(false, true)) {
                    parked.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            assertThat(parked.await(60, TimeUnit.SECONDS)).as("the next scheduled backup started").isTrue();
            try {
                long backups = count(db, "select count(*) from audit_event where subtype = 'backup' and outcome = 0");
                BackupTarget target = vault.context.getBean(BackupConfig.BackupStorage.class).target();
                List<BackupTarget.SetInfo> complete = target.sets().stream().filter(BackupTarget.SetInfo::complete)
                        .sorted(Comparator.comparing(BackupTarget.SetInfo::id)).toList();
                assertThat(backups).isGreaterThanOrEqualTo(3);
                assertThat(complete).as("keep-last 2 after %d backups", backups).hasSize(2);
                // the parked run is the newest; the kept sets are the two before it
                List<BackupTarget.SetInfo> incomplete = target.sets().stream().filter(s -> !s.complete()).toList();
                assertThat(incomplete).as("only the parked run's set is incomplete").hasSize(1);
                assertThat(complete).allSatisfy(s -> assertThat(s.id()).isLessThan(incomplete.get(0).id()));
                assertThat(complete.get(1).finishedAt()).isAfter(complete.get(0).finishedAt());
            } finally {
                release.countDown();
                service.observe(fr.hdsvault.backup.Progress.NONE);
            }
        }
        // A stopped vault schedules nothing more: its scheduler thread ends with it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("backup-schedule-"))) {
            assertThat(System.nanoTime()).as("the backup scheduler thread outlived its vault").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static long count(JdbcTemplate db, String sql) {
        return db.queryForObject(sql, Long.class);
    }
}
