package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.lifecycle.VaultDestruction;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine;

/**
 * The end of a contract on a running vault, from the command line: every record destroyed and
 * gone from reads, searches and the store; the audit trail intact; a certificate that verifies
 * offline with the auditors' public key and fails once altered; and a backup taken before that
 * restores nothing of the records.
 */
class VaultDestructionTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String practitioner;

    @BeforeAll
    static void records() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), PatientErasureTest.SETTINGS);
        practitioner = BackupRestoreTest.practitioner(vault.dataDir);
        for (String p : new String[] {"ds-a", "ds-b", "ds-c"}) {
            assertThat(vault.send("PUT", "/fhir/Patient/" + p, practitioner, "{\"resourceType\":\"Patient\",\"id\":\"" + p + "\"}")
                    .statusCode()).isEqualTo(201);
            assertThat(vault.send("PUT", "/fhir/Observation/" + p + "-obs", practitioner, AccessControlTest.observation(p + "-obs", p))
                    .statusCode()).isEqualTo(201);
        }
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static String cli(String... args) {
        StringWriter out = new StringWriter();
        int exit = new CommandLine(new fr.hdsvault.api.cli.DestroyCommand()).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(out, true)).execute(args);
        return exit + ": " + out;
    }

    @Test
    void everyRecordIsDestroyedTheTrailStaysAndTheCertificateVerifiesOffline() throws Exception {
        String before = (String) BackupRestoreTest.backup(vault).get("id");
        JdbcTemplate live = vault.context.getBean(JdbcTemplate.class);
        List<String> keys = live.queryForList("select kek_id from compartment_kek", String.class);
        long eventsBefore = live.queryForObject("select count(*) from audit_event", Long.class);
        String vaultId = Files.readString(vault.dataDir.resolve("vault-id")).strip();
        Path certificate = dir.resolve("destruction.json");
        String[] target = {"--data-dir", vault.dataDir.toString(), "--url", vault.base};

        assertThat(cli("--reason", "end of contract", "--certificate", certificate.toString(), "--confirm", "not-the-id", target[0],
                target[1], target[2], target[3])).startsWith("2:").contains("400");
        assertThat(vault.get("/fhir/Patient/ds-a", practitioner).statusCode()).isEqualTo(200); // refused: nothing changed
        assertThat(vault.send("POST", "/admin/destroy", practitioner, "{}").statusCode()).isEqualTo(403);

        String done = cli("--reason", "end of contract", "--certificate", certificate.toString(), "--confirm", vaultId, target[0],
                target[1], target[2], target[3]);
        assertThat(done).startsWith("0:").contains("vault " + vaultId + " destroyed: " + keys.size() + " keys destroyed, 6 resource versions");

        for (String path : List.of("/fhir/Patient/ds-a", "/fhir/Observation/ds-b-obs", "/fhir/Patient/ds-c/_history/1")) {
            assertThat(vault.get(path, practitioner).statusCode()).as(path).isEqualTo(404);
        }
        assertThat(PatientErasureTest.entries(vault.get("/fhir/Observation", practitioner))).isZero();
        assertThat(live.queryForObject("select count(*) from kek_registry where kek_id in (select kek_id from compartment_kek) "
                + "and wrapped_key is not null", Long.class)).isZero();
        assertThat(vault.context.getBean("objectBucket", fr.hdsvault.api.storage.VaultStores.StoreBucket.class).store()
                .list("hds-vault-objects", null, null, 10).objects()).isEmpty();
        assertThat(live.queryForObject("select count(*) from audit_event", Long.class)).isGreaterThan(eventsBefore);

        // The certificate, offline, with the public key the auditors hold.
        Path publicKey = vault.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE);
        Map<String, Object> fields = VaultDestruction.verify(Files.readString(certificate), AuditKeys.readPublic(publicKey));
        assertThat(fields).containsEntry("vault", vaultId).containsEntry("by", "vault-cli").containsEntry("resourceVersionsRemoved", 6);
        assertThat((List<Object>) fields.get("keysDestroyed")).containsExactlyInAnyOrderElementsOf(keys);
        assertThat((String) fields.get("auditCheckpoint")).startsWith("hds-vault/" + vaultId + "/audit\n");
        assertThat(fields.get("reasonSha256")).isNotEqualTo("end of contract");
        StringWriter out = new StringWriter();
        assertThat(new CommandLine(new fr.hdsvault.api.cli.DestroyCommand()).setOut(new PrintWriter(out, true))
                .execute("verify", certificate.toString(), "--public-key", publicKey.toString())).as(out.toString()).isZero();
        String forged = Files.readString(certificate).replace("\\\"resourceVersionsRemoved\\\":6", "\\\"resourceVersionsRemoved\\\":60");
        assertThat(forged).isNotEqualTo(Files.readString(certificate));
        assertThatThrownBy(() -> VaultDestruction.verify(forged, AuditKeys.readPublic(publicKey)))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] otherKey = fr.hdsvault.crypto.sign.Ed25519.SigningKey.generate().publicKey();
        assertThatThrownBy(() -> VaultDestruction.verify(Files.readString(certificate), otherKey))
                .isInstanceOf(IllegalArgumentException.class);

        // A set taken before restores the trail and nothing of the records.
        Path restoredDir = dir.resolve("restored");
        StringWriter restoreOut = new StringWriter();
        StringWriter restoreErr = new StringWriter();
        assertThat(BackupRestoreTest.restore(vault.dataDir, restoredDir, restoreOut, restoreErr, "--set", before))
                .as(restoreOut + "\n" + restoreErr).isZero();
        assertThat(restoreOut.toString()).contains("6 objects of erased patients left out");
        try (VaultHttps restored = new VaultHttps(restoredDir, PatientErasureTest.SETTINGS)) {
            String token = BackupRestoreTest.practitioner(restoredDir);
            assertThat(restored.get("/fhir/Patient/ds-a", token).statusCode()).isEqualTo(404);
            assertThat(PatientErasureTest.entries(restored.get("/fhir/Observation", token))).isZero();
        }
        assertThat(new String(Files.readAllBytes(certificate), StandardCharsets.UTF_8)).doesNotContain("end of contract");
    }
}
