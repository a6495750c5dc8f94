package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.index.IndexDatabases;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes go on during a backup, and the set still restores to a state that existed. One client
 * posts transactions in sequence, each updating a counter patient and creating one observation;
 * the backup is held inside its snapshot until more of them have committed. The restored vault
 * must hold exactly the first {@code k} transactions, whole: the counter at version {@code k},
 * observations {@code 0..k-1}, none after, with {@code k} no later than the snapshot.
 * On H2 and on the local PostgreSQL (restored into an empty PostgreSQL schema).
 */
class BackupConcurrencyTest {

    private static final String PATIENT = "conc-counter";

    @TempDir
    Path dir;

    @Test
    void writesDuringABackupOnH2() throws Exception {
        writesDuringABackupRestoreToAStateThatExisted(Map.of(), null);
    }

    @Test
    void writesDuringABackupOnPostgresqlRestoredIntoAnEmptyPostgresqlDatabase() throws Exception {
        String why = IndexDatabases.postgresUnavailable();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        String live = createSchema();
        String restored = createSchema();
        try {
            Map<String, Object> settings = Map.of("spring.datasource.url", schemaUrl(live),
                    "spring.datasource.username", IndexDatabases.POSTGRES_USER);
            writesDuringABackupRestoreToAStateThatExisted(settings, schemaUrl(restored));
        } finally {
            dropSchema(live);
            dropSchema(restored);
        }
    }

    private void writesDuringABackupRestoreToAStateThatExisted(Map<String, Object> db, String restoreIndexUrl) throws Exception {
        Map<String, Object> settings = new HashMap<>(BackupRestoreTest.SETTINGS);
        settings.putAll(db);
        Path home = dir.resolve("vault");
        AtomicInteger committed = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        int before;
        int atSnapshot;
        Map<String, Object> summary;
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            String token = BackupRestoreTest.practitioner(home);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; !stop.get(); i++) {
                        HttpResponse<String> r = vault.send("POST", "/fhir", token, step(i));
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                        committed.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            waitFor(() -> committed.get() >= 5, "the first writes");

            // Inside the snapshot (after its first item), hold the backup until more writes have committed.
            AtomicInteger seenAtSnapshot = new AtomicInteger(-1);
            vault.context.getBean(BackupService.class).observe((phase, done, total, bytes) -> {
                if ("items".equals(phase) && done <= 2) {
                    int now = committed.get();
                    seenAtSnapshot.compareAndSet(-1, now);
                    waitFor(() -> committed.get() >= now + 5, "writes during the snapshot");
                }
            });
            before = committed.get();
            summary = BackupRestoreTest.backup(vault);
            atSnapshot = seenAtSnapshot.get();
            waitFor(() -> committed.get() >= atSnapshot + 12, "writes after the backup");
            stop.set(true);
            writer.get(60, TimeUnit.SECONDS);
            assertThat(summary.get("status")).isEqualTo("complete");
        }
        int written = committed.get();

        Path restoredDir = dir.resolve("restored");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] more = restoreIndexUrl == null ? new String[0] : new String[] {"--index-url", restoreIndexUrl};
        assertThat(BackupRestoreTest.restore(home, restoredDir, out, err, more)).as(err.toString()).isZero();
        assertThat(out.toString()).contains("audit trail verified");

        Map<String, Object> restoredSettings = new HashMap<>(BackupRestoreTest.SETTINGS);
        if (restoreIndexUrl != null) {
            restoredSettings.put("spring.datasource.url", restoreIndexUrl);
            restoredSettings.put("spring.datasource.username", IndexDatabases.POSTGRES_USER);
        }
        try (VaultHttps restored = new VaultHttps(restoredDir, restoredSettings)) {
            String token = BackupRestoreTest.practitioner(restoredDir);
            HttpResponse<String> counter = restored.get("/fhir/Patient/" + PATIENT, token);
            assertThat(counter.statusCode()).as(counter.body()).isEqualTo(200);
            Map<String, Object> patient = BackupRestoreTest.json(counter);
            int k = Integer.parseInt((String) ((Map<String, Object>) patient.get("meta")).get("versionId"));
            // The counter's version says how many transactions the set holds; the snapshot came before the held writes.
            assertThat(k).isBetween(before, atSnapshot);
            assertThat(written).isGreaterThanOrEqualTo(atSnapshot + 10);
            assertThat(((List<Map<String, Object>>) patient.get("identifier")).get(0).get("value")).isEqualTo("step-" + (k - 1));
            assertThat(BackupRestoreTest.entries(restored.get("/fhir/Patient/" + PATIENT + "/_history?_count=1000", token))).hasSize(k);
            for (int i = 0; i < written; i++) {
                HttpResponse<String> obs = restored.get("/fhir/Observation/conc-obs-" + i, token);
                assertThat(obs.statusCode()).as("observation %d of %d transactions, %d in the set", i, written, k)
                        .isEqualTo(i < k ? 200 : 404);
            }
            String auditor = TestTokens.ofVault(restoredDir).sign("aud-1", "auditor", null, null);
            Map<String, Object> audit = BackupRestoreTest.json(restored.get("/admin/audit/verify", auditor));
            assertThat(audit.get("ok")).as(audit.toString()).isEqualTo(true);
        }
    }

    /** Transaction {@code i}: version {@code i + 1} of the counter patient, and observation {@code i}. */
    private static String step(int i) {
        return "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                + "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"" + PATIENT + "\",\"identifier\":[{\"system\":\"urn:test:step\","
                + "\"value\":\"step-" + i + "\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/" + PATIENT + "\"}},"
                + "{\"resource\":" + AccessControlTest.observation("conc-obs-" + i, PATIENT)
                + ",\"request\":{\"method\":\"PUT\",\"url\":\"Observation/conc-obs-" + i + "\"}}]}";
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static String schemaUrl(String schema) {
        return IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema + "&user=" + IndexDatabases.POSTGRES_USER;
    }

    private static String createSchema() throws Exception {
        String schema = "bk_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "");
             Statement s = c.createStatement()) {
            s.execute("create schema " + schema);
        }
        return schema;
    }

    private static void dropSchema(String schema) throws Exception {
        try (Connection c = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "");
             Statement s = c.createStatement()) {
            s.execute("drop schema if exists " + schema + " cascade");
        }
    }
}
