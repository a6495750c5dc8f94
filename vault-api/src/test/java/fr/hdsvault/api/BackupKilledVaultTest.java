package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A vault process killed (SIGKILL) in the middle of a backup: what it wrote is not a complete
 * set, its lock keeps others out only until its time to live runs out, and the next run on the
 * restarted vault removes the abandoned set, completes, and verifies.
 */
class BackupKilledVaultTest {

    private static final Duration LOCK_TTL = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void aVaultKilledMidBackupLeavesNoCompleteSetAndTheNextRunSucceedsAfterTheLockExpires() throws Exception {
        Path home = dir.resolve("vault");
        Map<String, Object> settings = new HashMap<>(BackupRestoreTest.SETTINGS);
        settings.put("vault.backup.lock-ttl", LOCK_TTL.toSeconds() + "s");
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            String token = BackupRestoreTest.practitioner(home);
            for (int b = 0; b < 12; b++) {
                HttpResponse<String> r = vault.send("POST", "/fhir", token, observations("killed-" + b, 50));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
        }

        Path backupObjects = BackupRestoreTest.backupObject(home, "");
        long killedAt;
        try (VaultProcess process = VaultProcess.start(home, VaultMain.class, List.of("-Dvault.backup.cron=-", "-Dvault.drill.cron=-",
                "-Dvault.backup.parallelism=1", "-Dvault.backup.lock-ttl=" + LOCK_TTL.toSeconds() + "s"))) {
            HttpRequest backup = HttpRequest.newBuilder(URI.create(process.base + "/admin/backups"))
                    .header("Authorization", "Bearer " + BackupRestoreTest.operator(home)).POST(HttpRequest.BodyPublishers.noBody())
                    .build();
            var answer = process.client.sendAsync(backup, HttpResponse.BodyHandlers.ofString());
            // Kill it as soon as it has copied a few objects.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (regularFiles(backupObjects) < 5) {
                assertThat(answer.isDone()).as("the backup ended before it could be killed: %s", answer.getNow(null)).isFalse();
                assertThat(System.nanoTime()).as("the backup never started copying objects").isLessThan(deadline);
                Thread.sleep(2);
            }
            process.kill(); // SIGKILL: no shutdown hook, no lock release
            killedAt = System.nanoTime();
        }
        assertThat(regularFiles(backupObjects)).as("objects copied before the kill").isLessThan(600);

        try (VaultHttps vault = new VaultHttps(home, settings)) {
            var target = vault.context.getBean(fr.hdsvault.api.backup.BackupConfig.BackupStorage.class).target();
            assertThat(target.sets()).as("what the killed run wrote").isNotEmpty().allSatisfy(s -> assertThat(s.complete()).isFalse());
            String operator = BackupRestoreTest.operator(home);
            HttpResponse<String> first = vault.send("POST", "/admin/backups", operator, null);
            if (Duration.ofNanos(System.nanoTime() - killedAt).compareTo(LOCK_TTL.minusSeconds(3)) < 0) {
                // the dead holder's lock has not expired yet: it still keeps runs out, and says why
                assertThat(first.statusCode()).as(first.body()).isEqualTo(409);
                assertThat(first.body()).contains("another backup operation is running");
            }
            HttpResponse<String> next = first;
            long deadline = System.nanoTime() + LOCK_TTL.plusSeconds(30).toNanos();
            while (next.statusCode() == 409 && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                next = vault.send("POST", "/admin/backups", operator, null);
            }
            assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
            Map<String, Object> summary = BackupRestoreTest.json(next);
            assertThat(summary.get("status")).isEqualTo("complete");
            assertThat(((Number) summary.get("objects")).longValue()).isEqualTo(600);
            assertThat(target.sets()).singleElement().satisfies(s -> {
                assertThat(s.id()).isEqualTo(summary.get("id"));
                assertThat(s.complete()).isTrue();
            });
            Map<String, Object> verified = BackupRestoreTest.verify(vault, (String) summary.get("id"), true);
            assertThat(verified.get("ok")).as(verified.toString()).isEqualTo(true);
        }
    }

    /** A transaction of {@code n} new observations of one patient. */
    private static String observations(String patient, int n) {
        StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("{\"resource\":").append(AccessControlTest.observation(null, patient))
                    .append(",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}");
        }
        return b.append("]}").toString();
    }

    private static long regularFiles(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).count();
        }
    }
}
