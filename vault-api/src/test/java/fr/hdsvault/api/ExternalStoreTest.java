package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.cli.AuditCommand;
import fr.hdsvault.api.cli.RestoreCommand;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectInfo;
import fr.hdsvault.storage.ResidencyPolicy;
import fr.hdsvault.storage.S3Credentials;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The vault on S3 servers that run as processes of their own and report their regions (Ceph
 * RADOS Gateways, {@link ExternalStores}): its records, audit checkpoints and backups live
 * there, over HTTPS with a private CA; nothing is read behind the S3 API; audit verify, restore
 * and drills work from them; and a bucket in another region, without Object Lock, or behind
 * a certificate or credentials the vault should not accept stops it before anything is stored.
 */
class ExternalStoreTest {

    static ExternalStores s3;

    @TempDir
    Path dir;

    @BeforeAll
    static void servers() {
        s3 = ExternalStores.fromEnvironment();
    }

    /** A vault whose three stores are on the French gateway: records and audit over HTTPS, backups over HTTP. */
    static Map<String, Object> frenchStores(String prefix, Path credentials) {
        Map<String, Object> m = new HashMap<>(BackupRestoreTest.SETTINGS);
        m.put("vault.stores.primary.endpoint", s3.frTlsEndpoint());
        m.put("vault.stores.primary.trust-store", s3.ca().toString());
        m.put("vault.stores.primary.credentials-file", credentials.toString());
        m.put("vault.stores.primary.bucket", prefix + "-objects");
        m.put("vault.stores.audit.bucket", prefix + "-audit");
        m.put("vault.stores.backup.endpoint", s3.frEndpoint());
        m.put("vault.stores.backup.credentials-file", credentials.toString());
        m.put("vault.stores.backup.bucket", prefix + "-backup");
        return m;
    }

    /** What an operator writes in DIR/vault.properties: the vault.stores settings. */
    static void writeConfig(Path file, Map<String, Object> settings) throws Exception {
        StringBuilder text = new StringBuilder();
        settings.forEach((k, v) -> {
            if (k.startsWith("vault.stores.")) {
                text.append(k).append('=').append(v).append('\n');
            }
        });
        Files.writeString(file, text);
    }

    S3ObjectStore direct() {
        return new S3ObjectStore(S3StoreConfig.external(s3.frEndpoint(), new S3Credentials(s3.frAccessKey(), s3.frSecretKey()),
                "fr-par"));
    }

    @Test
    void recordsAuditAndBackupsLiveOnTheExternalStoresAndARestoreRebuildsTheVaultFromThem() throws Exception {
        String prefix = ExternalStores.freshBucket("v");
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        Map<String, Object> settings = frenchStores(prefix, credentials);
        Path home = dir.resolve("vault");
        String observation;
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            String token = BackupRestoreTest.practitioner(home);
            assertThat(vault.send("PUT", "/fhir/Patient/ext-p1", token,
                    "{\"resourceType\":\"Patient\",\"id\":\"ext-p1\",\"name\":[{\"family\":\"Dubois\"}]}").statusCode()).isEqualTo(201);
            assertThat(vault.send("PUT", "/fhir/Observation/ext-o1", token, AccessControlTest.observation("ext-o1", "ext-p1"))
                    .statusCode()).isEqualTo(201);
            assertThat(vault.send("PUT", "/fhir/Observation/ext-o1", token,
                    AccessControlTest.observation("ext-o1", "ext-p1").replace("final", "amended")).statusCode()).isEqualTo(200);
            HttpResponse<String> tx = vault.send("POST", "/fhir", token, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                    + "\"entry\":[{\"fullUrl\":\"urn:uuid:0f0e0d0c-0b0a-4090-8070-605040302010\",\"resource\":"
                    + AccessControlTest.observation(null, "ext-p1") + ",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}");
            assertThat(tx.statusCode()).as(tx.body()).isEqualTo(200);
            assertThat(vault.get("/fhir/Observation?patient=ext-p1", token).body()).contains("\"total\":2");
            assertThat(vault.get("/fhir/Observation/ext-o1/_history", token).body()).contains("\"total\":2");
            observation = vault.get("/fhir/Observation/ext-o1", token).body();
            assertThat(observation).contains("amended");

            try (S3ObjectStore direct = direct()) {
                List<ObjectInfo> objects = direct.list(prefix + "-objects", null, null, 1000).objects();
                assertThat(objects).as("every version is an object on the gateway").hasSize(4)
                        .allSatisfy(o -> assertThat(o.key()).doesNotContain("ext-"));
                assertThat(direct.list(prefix + "-audit", null, null, 10).objects()).as("signed checkpoints").isNotEmpty();
            }
            try (Stream<Path> files = Files.walk(home.resolve("s3"))) {
                assertThat(files.filter(Files::isRegularFile)).as("no embedded store was used").isEmpty();
            }
            String operator = BackupRestoreTest.operator(home);
            assertThat(vault.get("/actuator/health/readiness", operator).body())
                    .contains("region fr-par (reported by the server)");
            assertThat(vault.get("/actuator/health/readiness", null).body()).doesNotContain("region");

            Map<String, Object> backup = BackupRestoreTest.backup(vault);
            assertThat(backup.get("status")).as(backup.toString()).isEqualTo("complete");
            assertThat(BackupRestoreTest.verify(vault, (String) backup.get("id"), true).get("ok")).isEqualTo(true);
            HttpResponse<String> drill = vault.send("POST", "/admin/restore-drills", operator, null);
            assertThat(drill.statusCode()).as(drill.body()).isEqualTo(200);
            assertThat(BackupRestoreTest.json(drill)).as(drill.body()).containsEntry("status", "passed");
        }

        // Offline, the auditor's command reads the checkpoints through the same S3 API, with the same settings.
        writeConfig(home.resolve("vault.properties"), settings);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int verified = new CommandLine(new AuditCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("verify", "--data-dir", home.toString());
        assertThat(verified).as(err.toString()).isZero();
        assertThat(out.toString()).contains("verified");

        // A disaster: the set restores into new buckets, from the backup store, and serves the same records.
        String restoredPrefix = ExternalStores.freshBucket("r");
        Map<String, Object> restoredSettings = frenchStores(restoredPrefix, credentials);
        restoredSettings.put("vault.stores.backup.bucket", prefix + "-backup");
        Path restoreConfig = dir.resolve("restore.properties");
        writeConfig(restoreConfig, restoredSettings);
        Path restoredDir = dir.resolve("restored");
        assertThat(restore(restoredDir, restoreConfig, home, out, err)).as(err.toString()).isZero();
        assertThat(out.toString()).contains("complete").contains("audit trail verified");
        // A second restore into the same buckets would mix two vaults: refused.
        StringWriter err2 = new StringWriter();
        assertThat(restore(dir.resolve("restored-again"), restoreConfig, home, new StringWriter(), err2)).isEqualTo(1);
        assertThat(err2.toString()).contains("holds objects");

        try (VaultHttps restored = new VaultHttps(restoredDir, restoredSettings)) {
            assertThat(restored.get("/fhir/Observation/ext-o1", BackupRestoreTest.practitioner(restoredDir)).body())
                    .isEqualTo(observation);
        }
    }

    static int restore(Path into, Path config, Path from, StringWriter out, StringWriter err) {
        return new CommandLine(new RestoreCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("--data-dir", into.toString(), "--config", config.toString(),
                        "--root-key", from.resolve("keys/root.p12").toString(),
                        "--root-passphrase-file", from.resolve("keys/root.passphrase").toString());
    }

    /** The message of the exception that stopped a start, with its causes. */
    static String startFailure(Path home, Map<String, Object> settings) {
        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> new VaultHttps(home, settings).close());
        assertThat(failure).as("the vault must refuse to start").isNotNull();
        StringBuilder messages = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append('\n');
        }
        return messages.toString();
    }

    @Test
    void aBucketInAnotherRegionStopsTheVaultNamingTheBucketAndTheRegion() throws Exception {
        String elsewhere = ExternalStores.freshBucket("elsewhere");
        try (S3ObjectStore frankfurt = new S3ObjectStore(S3StoreConfig.external(s3.deEndpoint(),
                new S3Credentials(s3.deAccessKey(), s3.deSecretKey()), "de-fra").withResidency(ResidencyPolicy.parse("de-fra")))) {
            frankfurt.createBucket(elsewhere, BucketOptions.versioned());
            frankfurt.createBucket(elsewhere + "-audit", BucketOptions.locked(java.time.Duration.ofDays(1)));
            Path credentials = ExternalStores.credentialsFile(dir, "de", s3.deAccessKey(), s3.deSecretKey());
            Map<String, Object> primary = new HashMap<>(BackupRestoreTest.SETTINGS);
            primary.put("vault.stores.primary.endpoint", s3.deEndpoint());
            primary.put("vault.stores.primary.credentials-file", credentials.toString());
            primary.put("vault.stores.primary.bucket", elsewhere);
            primary.put("vault.stores.audit.bucket", elsewhere + "-audit");
            assertThat(startFailure(dir.resolve("v1"), primary)).contains(elsewhere).contains("'de-fra' (reported by the server)")
                    .contains("outside the allowed regions");
            assertThat(frankfurt.list(elsewhere, null, null, 10).objects()).as("nothing stored there").isEmpty();

            // Buckets that do not exist yet: the server refuses to create them in a French region.
            primary.put("vault.stores.primary.bucket", ExternalStores.freshBucket("new"));
            primary.put("vault.stores.audit.bucket", ExternalStores.freshBucket("new-audit"));
            assertThat(startFailure(dir.resolve("v3"), primary)).contains("refused to create bucket")
                    .contains("in region 'fr-par' (InvalidLocationConstraint)").contains(s3.deEndpoint());

            Map<String, Object> backup = new HashMap<>(BackupRestoreTest.SETTINGS);
            backup.put("vault.stores.backup.endpoint", s3.deEndpoint());
            backup.put("vault.stores.backup.credentials-file", credentials.toString());
            backup.put("vault.stores.backup.bucket", elsewhere);
            assertThat(startFailure(dir.resolve("v2"), backup)).contains(elsewhere).contains("'de-fra' (reported by the server)");
        }
    }

    @Test
    void anExternalAuditBucketWithoutObjectLockIsRefusedUnlessTheOperatorAcceptsIt() throws Exception {
        String prefix = ExternalStores.freshBucket("nolock");
        try (S3ObjectStore direct = direct()) {
            direct.createBucket(prefix + "-audit", BucketOptions.versioned()); // created without Object Lock
        }
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        Map<String, Object> settings = frenchStores(prefix, credentials);
        assertThat(startFailure(dir.resolve("v1"), settings)).contains(prefix + "-audit")
                .contains("does not enforce S3 Object Lock").contains("vault.stores.allow-without-object-lock");

        settings.put("vault.stores.allow-without-object-lock", "true");
        Path home = dir.resolve("v2");
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            assertThat(vault.send("PUT", "/fhir/Patient/nolock", BackupRestoreTest.practitioner(home),
                    "{\"resourceType\":\"Patient\",\"id\":\"nolock\"}").statusCode()).isEqualTo(201);
        }
    }

    @Test
    void anHttpsEndpointWithoutItsCaOrCredentialsOthersCanReadStopTheVault() throws Exception {
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        Map<String, Object> settings = frenchStores(ExternalStores.freshBucket("tls"), credentials);
        settings.remove("vault.stores.primary.trust-store");
        assertThat(startFailure(dir.resolve("v1"), settings)).contains("unable to find valid certification path");

        Files.setPosixFilePermissions(credentials, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(startFailure(dir.resolve("v2"), frenchStores(ExternalStores.freshBucket("loose"), credentials)))
                .contains("readable by others");
    }
}
