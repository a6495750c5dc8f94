package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.backup.BackupConfig;
import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backup store stops in the middle of a backup: the run fails clearly, leaves no complete set, and the next run succeeds. */
class BackupFaultTest {

    @TempDir
    Path dir;

    @Test
    void aTargetStoppedMidBackupLeavesNoCompleteSetAndTheNextRunSucceeds() throws Exception {
        Path home = dir.resolve("vault");
        try (VaultHttps vault = new VaultHttps(home, BackupRestoreTest.SETTINGS)) {
            String token = BackupRestoreTest.practitioner(home);
            for (int i = 0; i < 30; i++) {
                vault.send("POST", "/fhir/Observation", token, AccessControlTest.observation(null, "fault-patient"));
            }
            BackupConfig.BackupStorage storage = vault.context.getBean(BackupConfig.BackupStorage.class);
            EmbeddedS3Server server = vault.context.getBean(VaultStores.class).embeddedServer(StoresProperties.Role.BACKUP)
                    .orElseThrow();
            int port = server.port();
            AtomicBoolean stopped = new AtomicBoolean();
            vault.context.getBean(BackupService.class).observe((phase, done, total, bytes) -> {
                if ("objects".equals(phase) && done >= 3 && stopped.compareAndSet(false, true)) {
                    server.close();
                }
            });
            HttpResponse<String> failed = vault.send("POST", "/admin/backups", BackupRestoreTest.operator(home), null);
            assertThat(failed.statusCode()).as(failed.body()).isEqualTo(500);
            assertThat(BackupRestoreTest.json(failed)).containsEntry("status", "failed").extractingByKey("error").asString()
                    .isNotBlank();
            vault.context.getBean(BackupService.class).observe(fr.hdsvault.backup.Progress.NONE);

            try (EmbeddedS3Server restarted = EmbeddedS3Server.start(home.resolve("backup-s3"), port, true)) {
                // What the interrupted run left is not a backup.
                assertThat(storage.target().sets()).isNotEmpty().allSatisfy(s -> assertThat(s.complete()).isFalse());
                Map<String, Object> next = BackupRestoreTest.backup(vault);
                assertThat(next.get("status")).isEqualTo("complete");
                List<Map<String, Object>> sets = BackupRestoreTest.JSON.readValue(
                        vault.get("/admin/backups", BackupRestoreTest.operator(home)).body(), List.class);
                assertThat(sets).singleElement().satisfies(s -> assertThat(s).containsEntry("status", "complete"));
                assertThat(BackupRestoreTest.verify(vault, (String) next.get("id"), true).get("ok")).isEqualTo(true);
            }
        }
    }
}
