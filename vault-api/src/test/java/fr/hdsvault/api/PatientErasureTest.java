package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Erasure of one patient, end to end on a running vault: after it, nothing of that patient
 * reads, searches or can be written again, the other patients are untouched, its key is a
 * tombstone, its objects are gone; and a backup set taken before the erasure restores
 * everything but that patient (the restore destroys the erased key again and leaves its data
 * out), verifies, and serves the restored vault without it.
 */
class PatientErasureTest {

    static final Map<String, Object> SETTINGS = Map.of("vault.backup.cron", "-", "vault.drill.cron", "-");

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String practitioner;
    static String operator;

    @BeforeAll
    static void twoPatients() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), SETTINGS);
        practitioner = BackupRestoreTest.practitioner(vault.dataDir);
        operator = BackupRestoreTest.operator(vault.dataDir);
        for (String p : new String[] {"er-a", "er-b"}) {
            assertThat(vault.send("PUT", "/fhir/Patient/" + p, practitioner, "{\"resourceType\":\"Patient\",\"id\":\"" + p
                    + "\",\"name\":[{\"family\":\"Durand\"}]}").statusCode()).isEqualTo(201);
            for (int o = 0; o < 2; o++) {
                assertThat(vault.send("PUT", "/fhir/Observation/" + p + "-obs-" + o, practitioner,
                        AccessControlTest.observation(p + "-obs-" + o, p)).statusCode()).isEqualTo(201);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static HttpResponse<String> erase(String id, String token, String body) throws Exception {
        return vault.client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(vault.base + "/admin/patients/" + id + "/erase"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static int entries(HttpResponse<String> searchset) {
        assertThat(searchset.statusCode()).as(searchset.body()).isEqualTo(200);
        return ca.uhn.fhir.context.FhirContext.forR4Cached().newJsonParser()
                .parseResource(org.hl7.fhir.r4.model.Bundle.class, searchset.body()).getEntry().size();
    }

    @Test
    void anErasedPatientIsGoneFromTheVaultAndFromEveryRestoreOfAnEarlierBackup() throws Exception {
        String before = (String) BackupRestoreTest.backup(vault).get("id");
        JdbcTemplate live = vault.context.getBean(JdbcTemplate.class);
        String kek = live.queryForObject("select kek_id from compartment_kek where compartment = 'Patient/er-a'", String.class);
        java.util.List<String> objects = live.queryForList("select object_key from resource_version where compartment = 'Patient/er-a' "
                + "and object_key is not null", String.class);
        assertThat(objects).hasSize(3);

        // Irreversible: the id typed twice, a reason, an operator; a patient never stored is 404.
        assertThat(erase("er-a", operator, "{\"reason\":\"request of the data controller\"}").statusCode()).isEqualTo(400);
        assertThat(erase("er-a", operator, "{\"confirm\":\"er-b\",\"reason\":\"x\"}").statusCode()).isEqualTo(400);
        assertThat(erase("er-a", operator, "{\"confirm\":\"er-a\"}").statusCode()).isEqualTo(400);
        assertThat(erase("er-a", practitioner, "{\"confirm\":\"er-a\",\"reason\":\"x\"}").statusCode()).isEqualTo(403);
        assertThat(erase("nobody", operator, "{\"confirm\":\"nobody\",\"reason\":\"x\"}").statusCode()).isEqualTo(404);
        assertThat(vault.get("/fhir/Patient/er-a", practitioner).statusCode()).isEqualTo(200); // refusals changed nothing

        HttpResponse<String> erased = erase("er-a", operator, "{\"confirm\":\"er-a\",\"reason\":\"request of the data controller\"}");
        assertThat(erased.statusCode()).as(erased.body()).isEqualTo(200);
        assertThat(BackupRestoreTest.json(erased)).containsEntry("keyId", kek).containsEntry("versionsRemoved", 3)
                .containsEntry("objectsDeleted", 3).containsEntry("objectsNotDeleted", 0);

        assertThat(vault.get("/fhir/Patient/er-a", practitioner).statusCode()).isEqualTo(404);
        assertThat(vault.get("/fhir/Observation/er-a-obs-0", practitioner).statusCode()).isEqualTo(404);
        assertThat(vault.get("/fhir/Observation/er-a-obs-1/_history/1", practitioner).statusCode()).isEqualTo(404);
        assertThat(entries(vault.get("/fhir/Observation?patient=er-a", practitioner))).isZero();
        assertThat(vault.get("/fhir/Patient/er-b", practitioner).statusCode()).isEqualTo(200);
        assertThat(entries(vault.get("/fhir/Observation?patient=er-b", practitioner))).isEqualTo(2);
        // Nothing new goes into an erased compartment: its key is a tombstone.
        assertThat(vault.send("PUT", "/fhir/Observation/er-a-obs-9", practitioner, AccessControlTest.observation("er-a-obs-9", "er-a"))
                .statusCode()).isGreaterThanOrEqualTo(400);
        assertThat(vault.get("/fhir/Observation/er-a-obs-9", practitioner).statusCode()).isEqualTo(404);
        assertThat(live.queryForObject("select count(*) from kek_registry where kek_id = ? and wrapped_key is not null", Long.class,
                kek)).isZero();
        for (String key : objects) {
            assertThat(vault.context.getBean("objectBucket", fr.hdsvault.api.storage.VaultStores.StoreBucket.class).store()
                    .exists("hds-vault-objects", key)).isFalse();
        }
        // The trail: the request found by the patient, the operation naming the destroyed key, no reason in either.
        String auditor = TestTokens.ofVault(vault.dataDir).sign("audit-1", "auditor", null, null);
        String byPatient = vault.get("/fhir/AuditEvent?patient=er-a&_count=1000", auditor).body();
        assertThat(byPatient).contains("\"code\":\"operation\"", "\"value\":\"ops-1\"");
        String byOperator = vault.get("/fhir/AuditEvent?agent=ops-1&_count=1000", auditor).body();
        assertThat(byOperator).contains("patient-erasure", "key " + kek + " destroyed").doesNotContain("request of the data controller");
        // Erasing again (here from the command line) finds nothing more to do: idempotent.
        StringWriter cli = new StringWriter();
        int again = new picocli.CommandLine(new fr.hdsvault.api.cli.ErasePatientCommand()).setOut(new java.io.PrintWriter(cli, true))
                .setErr(new java.io.PrintWriter(cli, true)).execute("er-a", "--reason", "again", "--confirm", "er-a",
                        "--data-dir", vault.dataDir.toString(), "--url", vault.base);
        assertThat(again).as(cli.toString()).isZero();
        assertThat(cli.toString()).contains("Patient/er-a erased: key " + kek + " destroyed, 0 resource versions and 0 objects removed");

        // The set taken before verifies (the erased objects are present and unreadable by design)...
        assertThat(BackupRestoreTest.verify(vault, before, true).get("ok")).isEqualTo(true);
        // ...and restores without the erased patient.
        Path restoredDir = dir.resolve("restored");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = BackupRestoreTest.restore(vault.dataDir, restoredDir, out, err, "--set", before);
        assertThat(exit).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("3 objects of erased patients left out");
        try (VaultHttps restored = new VaultHttps(restoredDir, SETTINGS)) {
            String token = BackupRestoreTest.practitioner(restoredDir);
            assertThat(restored.get("/fhir/Patient/er-a", token).statusCode()).isEqualTo(404);
            assertThat(restored.get("/fhir/Observation/er-a-obs-0", token).statusCode()).isEqualTo(404);
            assertThat(restored.get("/fhir/Patient/er-b", token).statusCode()).isEqualTo(200);
            assertThat(restored.get("/fhir/Observation/er-b-obs-1", token).statusCode()).isEqualTo(200);
            JdbcTemplate restoredDb = restored.context.getBean(JdbcTemplate.class);
            assertThat(restoredDb.queryForObject("select count(*) from kek_registry where kek_id = ? and wrapped_key is not null",
                    Long.class, kek)).isZero();
            assertThat(restoredDb.queryForObject("select count(*) from resource_version where compartment = 'Patient/er-a'", Long.class))
                    .isZero();
        }
        assertThat(Files.exists(restoredDir)).isTrue();
    }
}
