package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.cli.RestoreCommand;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine;
import tools.jackson.databind.json.JsonMapper;

/**
 * Backups end to end on a running vault: a set restores into an empty directory as a vault
 * that serves the same resources, versions and history, with an audit trail that verifies;
 * backups are incremental; verification and drills name every corrupted or missing object and
 * a manifest signed by another key; drills pass on an intact set and clean up after themselves.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackupRestoreTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final Map<String, Object> SETTINGS = Map.of("vault.backup.cron", "-", "vault.drill.cron", "-",
            "vault.audit.checkpoint-every", "5");

    @TempDir
    static Path dir;
    static Path original;
    static VaultHttps vault;
    static List<String> resources = new ArrayList<>();

    @BeforeAll
    static void writeSomeHistory() throws Exception {
        original = dir.resolve("vault");
        vault = new VaultHttps(original, SETTINGS);
        String token = practitioner(original);
        for (int p = 0; p < 4; p++) {
            String patient = "bk-patient-" + p;
            vault.send("PUT", "/fhir/Patient/" + patient, token, "{\"resourceType\":\"Patient\",\"id\":\"" + patient
                    + "\",\"name\":[{\"family\":\"Backup" + p + "\"}]}");
            resources.add("Patient/" + patient);
            for (int o = 0; o < 3; o++) {
                String id = patient + "-obs-" + o;
                assertThat(vault.send("PUT", "/fhir/Observation/" + id, token, AccessControlTest.observation(id, patient))
                        .statusCode()).isEqualTo(201);
                resources.add("Observation/" + id);
            }
        }
        // history: two more versions of one observation, and a deletion
        for (int v = 0; v < 2; v++) {
            String body = AccessControlTest.observation("bk-patient-0-obs-0", "bk-patient-0").replace("final", v == 0 ? "amended" : "corrected");
            assertThat(vault.send("PUT", "/fhir/Observation/bk-patient-0-obs-0", token, body).statusCode()).isEqualTo(200);
        }
        assertThat(vault.send("DELETE", "/fhir/Observation/bk-patient-3-obs-2", token, null).statusCode()).isLessThan(300);
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static String practitioner(Path home) throws Exception {
        return TestTokens.ofVault(home).sign("dr-backup", "practitioner", "user/*.cruds", null);
    }

    static String operator(Path home) throws Exception {
        return TestTokens.ofVault(home).sign("ops-1", "operator", null, null);
    }

    static Map<String, Object> json(HttpResponse<String> r) {
        return JSON.readValue(r.body(), Map.class);
    }

    static Map<String, Object> backup(VaultHttps vault) throws Exception {
        HttpResponse<String> r = vault.send("POST", "/admin/backups", operator(vault.dataDir), null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    static Map<String, Object> verify(VaultHttps vault, String id, boolean readData) throws Exception {
        HttpResponse<String> r = vault.get("/admin/backups/" + id + "/verify?readData=" + readData, operator(vault.dataDir));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    static Path backupObject(Path home, String key) {
        return EmbeddedS3Server.bucketDirectory(home.resolve("backup-s3"), "hds-vault-backup").resolve("objects").resolve(key);
    }

    static int restore(Path from, Path into, StringWriter out, StringWriter err, String... more) {
        String[] args = Stream.concat(Stream.of("--data-dir", into.toString(), "--backup-dir", from.resolve("backup-s3").toString(),
                "--root-key", from.resolve("keys/root.p12").toString(), "--root-passphrase-file",
                from.resolve("keys/root.passphrase").toString()), Stream.of(more)).toArray(String[]::new);
        return new CommandLine(new RestoreCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
    }

    @Test
    @Order(1)
    void aBackupRestoresIntoAnEmptyDirectoryAsTheSameVault() throws Exception {
        JdbcTemplate live = vault.context.getBean(JdbcTemplate.class);
        long versionsWithObjects = live.queryForObject("select count(*) from resource_version where object_key is not null", Long.class);
        Map<String, Object> summary = backup(vault);
        assertThat(summary.get("status")).isEqualTo("complete");
        assertThat(((Number) summary.get("objects")).longValue()).isEqualTo(versionsWithObjects);
        assertThat(summary).containsKeys("id", "startedAt", "finishedAt", "bytes");
        String id = (String) summary.get("id");

        List<Map<String, Object>> sets = JSON.readValue(vault.get("/admin/backups", operator(original)).body(), List.class);
        assertThat(sets).anySatisfy(s -> assertThat(s).containsEntry("id", id).containsEntry("status", "complete"));
        Map<String, Object> verified = verify(vault, id, true);
        assertThat(verified.get("ok")).as(verified.toString()).isEqualTo(true);
        assertThat(((Number) verified.get("objectsChecked")).longValue()).isEqualTo(versionsWithObjects);

        Path restoredDir = dir.resolve("restored");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertThat(restore(original, restoredDir, out, err)).as(err.toString()).isZero();
        assertThat(out.toString()).contains("restore of " + id + " complete").contains("audit trail verified");

        try (VaultHttps restored = new VaultHttps(restoredDir, SETTINGS)) {
            String a = practitioner(original);
            String b = practitioner(restoredDir); // the issuer keys came back with the set
            for (String resource : resources) {
                HttpResponse<String> there = vault.get("/fhir/" + resource, a);
                HttpResponse<String> here = restored.get("/fhir/" + resource, b);
                assertThat(here.statusCode()).as(resource).isEqualTo(there.statusCode());
                assertThat(here.body()).as(resource).isEqualTo(there.body());
                assertThat(entries(restored.get("/fhir/" + resource + "/_history", b)))
                        .as("history of " + resource).isEqualTo(entries(vault.get("/fhir/" + resource + "/_history", a)));
            }
            assertThat(restored.get("/fhir/Observation/bk-patient-3-obs-2", b).statusCode()).isEqualTo(410);
            String auditor = TestTokens.ofVault(restoredDir).sign("aud-1", "auditor", null, null);
            Map<String, Object> audit = json(restored.get("/admin/audit/verify", auditor));
            assertThat(audit.get("ok")).as(audit.toString()).isEqualTo(true);
        }
        assertThat(live.queryForObject("select count(*) from audit_event where subtype = 'backup' and outcome = 0", Long.class))
                .isGreaterThanOrEqualTo(1);
    }

    /** The resources of a history bundle, in order (the bundle's own id and links name the server). */
    static List<Object> entries(HttpResponse<String> history) {
        List<Map<String, Object>> entries = (List<Map<String, Object>>) json(history).get("entry");
        return entries.stream().map(e -> e.get("resource")).map(Object.class::cast).toList();
    }

    @Test
    @Order(2)
    void aSecondBackupCopiesOnlyWhatIsNew() throws Exception {
        backup(vault);
        String token = practitioner(original);
        for (int i = 0; i < 10; i++) {
            vault.send("POST", "/fhir/Observation", token, AccessControlTest.observation(null, "bk-patient-1"));
        }
        Map<String, Object> summary = backup(vault);
        assertThat(((Number) summary.get("objectsCopied")).longValue()).isEqualTo(10);
    }

    @Test
    @Order(3)
    void aDrillOnAnIntactSetPassesAndCleansUp() throws Exception {
        HttpResponse<String> r = vault.send("POST", "/admin/restore-drills", operator(original), null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Map<String, Object> report = json(r);
        assertThat(report.get("status")).as(r.body()).isEqualTo("passed");
        assertThat(((Number) report.get("rtoSeconds")).doubleValue()).isPositive();
        assertThat(((Number) report.get("rpoSeconds")).doubleValue()).isGreaterThanOrEqualTo(0);
        assertThat(((Number) report.get("objectsVerified")).longValue()).isPositive();
        assertThat(((Number) report.get("sampleCompared")).intValue()).isPositive();
        assertThat(report.get("scratchRemoved")).isEqualTo(true);
        assertThat(original.resolve("drills").resolve((String) report.get("id"))).doesNotExist();

        HttpResponse<String> started = vault.send("POST", "/admin/restore-drills?async=true", operator(original), null);
        assertThat(started.statusCode()).isEqualTo(202);
        String location = started.headers().firstValue("Location").orElseThrow();
        Map<String, Object> polled = json(started);
        for (int i = 0; i < 120 && "running".equals(polled.get("status")); i++) {
            Thread.sleep(500);
            polled = json(vault.get(location, operator(original)));
        }
        assertThat(polled.get("status")).isEqualTo("passed");
        HttpResponse<String> text = vault.send("GET", location, operator(original), null, "Accept", "text/plain");
        assertThat(text.body()).contains("PASSED").contains("RTO").contains("RPO");
        List<?> drills = JSON.readValue(vault.get("/admin/restore-drills", operator(original)).body(), List.class);
        assertThat(drills).hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    @Order(4)
    void anotherVaultsRootKeyOpensNothingAndRestoresNothing() throws Exception {
        Path other = dir.resolve("other-root");
        Files.createDirectories(other);
        Path pass = other.resolve("root.passphrase");
        Files.writeString(pass, "another custody's passphrase");
        Files.setPosixFilePermissions(pass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        fr.hdsvault.crypto.root.Pkcs12RootKeyProvider.openOrCreate(other.resolve("root.p12"),
                fr.hdsvault.crypto.root.Passphrase.fromFile(pass)).close();
        Path into = dir.resolve("restored-with-another-key");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new RestoreCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("--data-dir", into.toString(), "--backup-dir", original.resolve("backup-s3").toString(),
                        "--root-key", other.resolve("root.p12").toString(), "--root-passphrase-file", pass.toString());
        assertThat(exit).as(out.toString()).isEqualTo(1);
        assertThat(err.toString()).contains("does not open under this root key");
        assertThat(into).doesNotExist();
    }

    @Test
    @Order(5)
    void corruptedAndMissingObjectsAndAForgedManifestAreNamed() throws Exception {
        String id = (String) backup(vault).get("id");
        List<String> keys = vault.context.getBean(JdbcTemplate.class).queryForList(
                "select object_key from resource_version where object_key is not null order by object_key", String.class);
        String flipped = keys.get(0);
        String deleted = keys.get(1);
        Path flippedFile = backupObject(original, flipped);
        Path deletedFile = backupObject(original, deleted);
        byte[] flippedBytes = Files.readAllBytes(flippedFile);
        Path aside = dir.resolve("deleted-object"); // moved, not copied: the store keeps its metadata in extended attributes
        try {
            byte[] bad = flippedBytes.clone();
            bad[bad.length / 2] ^= 1;
            Files.write(flippedFile, bad);
            Files.move(deletedFile, aside);

            Map<String, Object> quick = verify(vault, id, false);
            assertThat(quick.get("ok")).isEqualTo(false);
            assertThat(failures(quick)).anySatisfy(f -> assertThat(f).containsEntry("objectKey", deleted)
                    .extractingByKey("problem").asString().contains("missing"));
            Map<String, Object> full = verify(vault, id, true);
            assertThat(failures(full)).anySatisfy(f -> assertThat(f).containsEntry("objectKey", flipped)
                    .extractingByKey("problem").asString().contains("corrupted"));
            assertThat(failures(full)).anySatisfy(f -> assertThat(f).containsEntry("objectKey", deleted));

            Map<String, Object> drill = json(vault.send("POST", "/admin/restore-drills?backupId=" + id, operator(original), null));
            assertThat(drill.get("status")).isEqualTo("failed");
            assertThat(failures(drill)).anySatisfy(f -> assertThat(f).containsEntry("objectKey", flipped));
            assertThat(failures(drill)).anySatisfy(f -> assertThat(f).containsEntry("objectKey", deleted));
            assertThat(drill.get("scratchRemoved")).isEqualTo(true);
        } finally {
            Files.write(flippedFile, flippedBytes);
            Files.move(aside, deletedFile);
        }
        assertThat(verify(vault, id, true).get("ok")).isEqualTo(true);

        // The manifest altered and re-signed with a key that is not the vault's, written through the S3 API.
        fr.hdsvault.backup.BackupTarget target = vault.context.getBean(fr.hdsvault.api.backup.BackupService.class).target();
        String manifestKey = "sets/" + id + "/manifest";
        String signatureKey = "sets/" + id + "/manifest.sig";
        byte[] manifestBytes = target.store().getBytes(target.bucket(), manifestKey);
        byte[] signatureBytes = target.store().getBytes(target.bucket(), signatureKey);
        try {
            Ed25519.SigningKey other = Ed25519.SigningKey.generate();
            byte[] forged = new String(manifestBytes, StandardCharsets.UTF_8).replaceFirst("\nvault ", "\nvault x").getBytes(StandardCharsets.UTF_8);
            target.store().put(target.bucket(), manifestKey, forged, Map.of());
            target.store().put(target.bucket(), signatureKey, ("ed25519 " + fr.hdsvault.backup.ManifestSignature.keyId(other.publicKey())
                    + " " + Base64.getEncoder().encodeToString(other.sign(forged)) + "\n").getBytes(StandardCharsets.UTF_8), Map.of());
            Map<String, Object> report = verify(vault, id, false);
            assertThat(report.get("ok")).isEqualTo(false);
            assertThat(failures(report)).anySatisfy(f -> assertThat(f).containsEntry("item", "signature"));
            Map<String, Object> drill = json(vault.send("POST", "/admin/restore-drills?backupId=" + id, operator(original), null));
            assertThat(drill.get("status")).isEqualTo("failed");
            assertThat(failures(drill)).anySatisfy(f -> assertThat((String) f.get("problem")).contains("signature"));
        } finally {
            target.store().put(target.bucket(), manifestKey, manifestBytes, Map.of());
            target.store().put(target.bucket(), signatureKey, signatureBytes, Map.of());
        }
        assertThat(verify(vault, id, false).get("ok")).isEqualTo(true);
    }

    static List<Map<String, Object>> failures(Map<String, Object> report) {
        return (List<Map<String, Object>>) report.get("failures");
    }

    @Test
    @Order(6)
    void onlyOperatorsRunBackups() throws Exception {
        assertThat(vault.send("POST", "/admin/backups", practitioner(original), null).statusCode()).isEqualTo(403);
        String auditor = TestTokens.ofVault(original).sign("aud-1", "auditor", null, null);
        assertThat(vault.send("POST", "/admin/restore-drills", auditor, null).statusCode()).isEqualTo(403);
        assertThat(vault.get("/admin/backups", null).statusCode()).isEqualTo(401);
    }
}
