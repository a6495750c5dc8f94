package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.crypto.tlog.Checkpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import picocli.CommandLine;

/**
 * {@code vault audit verify} on a stopped vault: the intact trail verifies; each kind of
 * tampering, done on a copy of the data directory as an insider with database access would,
 * is detected and named at the right position.
 */
class AuditVerifyTest {

    static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder().build();

    @TempDir
    static Path dir;
    static Path original;

    record Outcome(int exit, String out, String err) {
    }

    @BeforeAll
    static void recordATrailThenStop() throws Exception {
        original = dir.resolve("vault");
        try (VaultHttps vault = new VaultHttps(original, Map.of("vault.audit.checkpoint-every", "5"))) {
            String token = TestTokens.ofVault(original).sign("dr-house", "practitioner", "user/*.cruds", null);
            for (int i = 0; i < 24; i++) {
                vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"P" + i + "\"}]}");
            }
        } // closing the vault writes a final checkpoint
    }

    static Outcome verify(Path dataDir, String... more) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] args = Stream.concat(Stream.of("verify", "--data-dir", dataDir.toString()), Stream.of(more)).toArray(String[]::new);
        int exit = new CommandLine(new fr.hdsvault.api.cli.AuditCommand()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(args);
        return new Outcome(exit, out.toString().strip(), err.toString().strip());
    }

    /** A copy of the stopped vault's data directory, tampered with through its database. */
    static Path tampered(String name, Consumer<JdbcTemplate> change) throws IOException {
        Path copy = dir.resolve(name);
        try (Stream<Path> files = Files.walk(original)) {
            for (Path p : files.sorted(Comparator.naturalOrder()).toList()) {
                Path target = copy.resolve(original.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    copyWithExtendedAttributes(p, target);
                }
            }
        }
        SingleConnectionDataSource db = new SingleConnectionDataSource("jdbc:h2:file:" + copy.resolve("index").resolve("vault"),
                "sa", "", true);
        try {
            change.accept(new JdbcTemplate(db));
        } finally {
            db.destroy();
        }
        return copy;
    }

    /** The embedded store keeps each object's metadata (its SHA-256) in extended attributes: a copy must keep them. */
    static void copyWithExtendedAttributes(Path from, Path to) throws IOException {
        Files.copy(from, to);
        var source = Files.getFileAttributeView(from, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        var target = Files.getFileAttributeView(to, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        if (source == null || target == null) {
            return;
        }
        for (String name : source.list()) {
            java.nio.ByteBuffer value = java.nio.ByteBuffer.allocate(source.size(name));
            source.read(name, value);
            value.flip();
            target.write(name, value);
        }
    }

    @Test
    void theIntactTrailVerifies() {
        Outcome o = verify(original);
        assertThat(o.exit()).as(o.err()).isZero();
        assertThat(o.out()).startsWith("audit trail verified: 24 events (24 stored), ").contains("latest at tree size 24")
                .contains("0 events after the latest checkpoint");
        assertThat(o.out().lines()).hasSize(1);
    }

    @Test
    void aModifiedEventIsNamed() throws Exception {
        Outcome o = verify(tampered("modified", db -> db.update("update audit_event set outcome = 4 where seq = 7")));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("FAILED at position 7").contains("modified");
    }

    @Test
    void aModifiedEventWhoseLeafHashWasRecomputedStillFailsItsCheckpoint() throws Exception {
        // The insider turns a success into a failure and recomputes the stored leaf hash (the format is public): the signed root catches it.
        Outcome o = verify(tampered("rehashed", db -> {
            Map<String, Object> row = db.queryForMap("select * from audit_event where seq = 12");
            fr.hdsvault.api.audit.AuditLeaf forged = new fr.hdsvault.api.audit.AuditLeaf(12,
                    ((java.time.OffsetDateTime) row.get("RECORDED_AT")).toInstant(), (String) row.get("ACTION"), 8,
                    (String) row.get("SUBTYPE"), (String) row.get("AGENT_TOKEN"), (String) row.get("PATIENT_TOKEN"),
                    (String) row.get("ENTITY_TOKEN"), (byte[]) row.get("ENVELOPE"));
            db.update("update audit_event set outcome = 8, leaf_hash = ? where seq = 12", (Object) forged.hash());
        }));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("do not match the signed checkpoint").containsPattern("events \\d+ to \\d+");
    }

    @Test
    void aDeletedEventIsNamed() throws Exception {
        Outcome o = verify(tampered("deleted", db -> db.update("delete from audit_event where seq = 4")));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("FAILED at position 4").contains("missing");
    }

    @Test
    void swappedEventsAreNamed() throws Exception {
        Outcome o = verify(tampered("swapped", db -> {
            List<Map<String, Object>> rows = db.queryForList("select * from audit_event where seq in (3, 5) order by seq");
            for (int i = 0; i < 2; i++) {
                Map<String, Object> from = rows.get(1 - i);
                db.update("update audit_event set recorded_at = ?, action = ?, outcome = ?, subtype = ?, agent_token = ?, "
                                + "patient_token = ?, entity_token = ?, envelope = ?, leaf_hash = ? where seq = ?",
                        from.get("RECORDED_AT"), from.get("ACTION"), from.get("OUTCOME"), from.get("SUBTYPE"), from.get("AGENT_TOKEN"),
                        from.get("PATIENT_TOKEN"), from.get("ENTITY_TOKEN"), from.get("ENVELOPE"), from.get("LEAF_HASH"),
                        rows.get(i).get("SEQ"));
            }
        }));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("FAILED at position 3").contains("recorded at position 5").contains("reordered");
    }

    @Test
    void aTruncatedTailIsNamedEvenWithTheDatabaseCheckpointsGone() throws Exception {
        Outcome tail = verify(tampered("truncated", db -> db.update("delete from audit_event where seq >= 20")));
        assertThat(tail.exit()).isEqualTo(1);
        assertThat(tail.err()).contains("FAILED at position 20").contains("truncated");
        // The insider also removes the checkpoints from the database: the copies in the audit bucket remain.
        Outcome both = verify(tampered("truncated-both", db -> {
            db.update("delete from audit_event where seq >= 20");
            db.update("delete from audit_checkpoint where tree_size > 20");
        }));
        assertThat(both.exit()).isEqualTo(1);
        assertThat(both.err()).contains("FAILED at position 24").contains("rolled back");
    }

    static Path checkpointCopy(Path dataDir, long size) {
        return fr.hdsvault.storage.embedded.EmbeddedS3Server.bucketDirectory(dataDir.resolve("s3"),
                fr.hdsvault.api.storage.StoresProperties.Role.AUDIT.defaultBucket()).resolve(fr.hdsvault.api.audit.AuditCheckpoints.objectName(size));
    }

    /**
     * The checkpoint signing seed is never on disk in clear: it is a secret of the key registry,
     * sealed under the root key. A seed an earlier version left in clear is moved in and erased,
     * and the checkpoints it signed still verify.
     */
    @Test
    void theSigningSeedIsSealedUnderTheRootKeyAndALegacyClearSeedIsMovedIn() throws Exception {
        assertThat(original.resolve("keys").resolve("audit-signing.key")).doesNotExist();
        Ed25519.SigningKey legacy = Ed25519.SigningKey.generate();
        Path home = dir.resolve("legacy-seed");
        Files.createDirectories(home.resolve("keys"));
        Files.write(home.resolve("keys").resolve("audit-signing.key"), java.util.Base64.getEncoder().encode(legacy.seed()));
        try (VaultHttps vault = new VaultHttps(home)) {
            assertThat(home.resolve("keys").resolve("audit-signing.key")).doesNotExist();
            assertThat(AuditKeys.readPublic(home.resolve("keys").resolve(AuditKeys.PUBLIC_FILE))).isEqualTo(legacy.publicKey());
            JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
            assertThat(jdbc.queryForObject("select count(*) from kek_registry where kek_id = ?", Integer.class,
                    AuditKeys.SIGNING_SECRET)).isEqualTo(1);
            String token = TestTokens.ofVault(home).sign("dr-house", "practitioner", "user/*.cruds", null);
            vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
        }
        try (Stream<Path> files = Files.walk(home)) { // the seed is in no file, in any form
            String seed = java.util.Base64.getEncoder().encodeToString(legacy.seed());
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).as(f.toString()).doesNotContain(seed);
            }
        }
        Outcome o = verify(home);
        assertThat(o.exit()).as(o.err()).isZero();
    }

    /** The head every node appends from: altered, the next events would continue a forged tree; verify names it. */
    @Test
    void anAlteredHeadIsNamed() throws Exception {
        Outcome o = verify(tampered("head-altered", db -> db.update("update audit_head set peaks = ? where id = 1",
                (Object) new byte[32 * Long.bitCount(db.queryForObject("select tree_size from audit_head", Long.class))])));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("the log's head").contains("does not match the events stored up to it");
    }

    @Test
    void aCheckpointDeletedFromTheBucketIsNamed() throws Exception {
        Path copy = tampered("bucket-copy-deleted", db -> { });
        Files.delete(checkpointCopy(copy, 10));
        Outcome o = verify(copy);
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("FAILED at position 10").contains("not in the audit bucket");
    }

    /**
     * The insider rolls the trail back to an earlier checkpoint and deletes every later one in
     * both places: nothing inside the vault contradicts the result any more, but a checkpoint an
     * auditor saved earlier does.
     */
    @Test
    void aRollbackWithEveryLaterCheckpointDeletedIsCaughtByATrustedCheckpoint() throws Exception {
        String saved;
        SingleConnectionDataSource reader = new SingleConnectionDataSource("jdbc:h2:file:" + original.resolve("index").resolve("vault")
                + ";ACCESS_MODE_DATA=r", "sa", "", true);
        try {
            saved = new JdbcTemplate(reader).queryForObject("select note from audit_checkpoint where tree_size = 24", String.class);
        } finally {
            reader.destroy();
        }
        Path trusted = dir.resolve("trusted-checkpoint-24.txt");
        Files.writeString(trusted, saved);
        assertThat(verify(original, "--trusted-checkpoint", trusted.toString()).out())
                .contains("the trail grew from the trusted checkpoint at tree size 24");

        // Rolled back in both places, the head still counting the events removed: the head alone gives it away.
        Path headKeptCopy = tampered("rolled-back-head-kept", db -> {
            db.update("delete from audit_event where seq >= 10");
            db.update("delete from audit_checkpoint where tree_size > 10");
        });
        for (long size : List.of(15L, 20L, 24L)) {
            Files.deleteIfExists(checkpointCopy(headKeptCopy, size));
        }
        Outcome headKept = verify(headKeptCopy);
        assertThat(headKept.exit()).isEqualTo(1);
        assertThat(headKept.err()).contains("truncated").contains("the log's head counts");
        // A thorough insider removes the head too (the vault rebuilds it from the events at its next start).
        Path rolledBack = tampered("rolled-back", db -> {
            db.update("delete from audit_event where seq >= 10");
            db.update("delete from audit_checkpoint where tree_size > 10");
            db.update("delete from audit_head");
        });
        for (long size : List.of(15L, 20L, 24L)) {
            Files.deleteIfExists(checkpointCopy(rolledBack, size));
        }
        Outcome unanchored = verify(rolledBack);
        assertThat(unanchored.exit()).as("without an anchor the rolled-back trail is consistent").isZero();
        Outcome anchored = verify(rolledBack, "--trusted-checkpoint", trusted.toString());
        assertThat(anchored.exit()).isEqualTo(1);
        assertThat(anchored.err()).contains("rolled back").contains("holds 10 events, fewer than the 24");

        Path forgedAnchor = dir.resolve("forged-checkpoint.txt");
        Files.writeString(forgedAnchor, new Checkpoint("hds-vault/x/audit", 5, new byte[32], java.time.Instant.now())
                .sign("hds-vault-audit", Ed25519.SigningKey.generate()));
        Outcome forged = verify(original, "--trusted-checkpoint", forgedAnchor.toString());
        assertThat(forged.exit()).isEqualTo(1);
        assertThat(forged.err()).contains("trusted checkpoint's signature does not verify");
    }

    @Test
    void aCheckpointReSignedWithAnotherKeyIsRefused() throws Exception {
        Ed25519.SigningKey rogue = Ed25519.SigningKey.generate();
        Outcome o = verify(tampered("resigned", db -> {
            Map<String, Object> last = db.queryForMap("select tree_size, note from audit_checkpoint order by tree_size desc limit 1");
            String note = (String) last.get("NOTE");
            Checkpoint cp = Checkpoint.verify(note, "hds-vault-audit", AuditKeys.readPublic(original.resolve("keys").resolve(AuditKeys.PUBLIC_FILE)))
                    .orElseThrow();
            db.update("update audit_checkpoint set note = ? where tree_size = ?", cp.sign("hds-vault-audit", rogue), last.get("TREE_SIZE"));
        }));
        assertThat(o.exit()).isEqualTo(1);
        assertThat(o.err()).contains("does not verify with the trusted public key");
        // Replacing the public key file on the host does not help the insider when the auditor brings its own copy.
        Path trusted = dir.resolve("trusted.pub");
        Files.copy(original.resolve("keys").resolve(AuditKeys.PUBLIC_FILE), trusted);
        Path resigned = dir.resolve("resigned");
        Files.writeString(resigned.resolve("keys").resolve(AuditKeys.PUBLIC_FILE),
                java.util.Base64.getEncoder().encodeToString(rogue.publicKey()), StandardCharsets.US_ASCII);
        assertThat(verify(resigned, "--public-key", trusted.toString()).exit()).isEqualTo(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void retentionPrunesWholeSealedRangesAndTheTrailStillVerifiesAcrossARestart() throws Exception {
        Path data = dir.resolve("retention");
        Map<String, Object> settings = Map.of("vault.audit.checkpoint-every", "5", "vault.audit.retention", "2s");
        long deleted;
        try (VaultHttps vault = new VaultHttps(data, settings)) {
            String token = TestTokens.ofVault(data).sign("dr-house", "practitioner", "user/*.cruds", null);
            for (int i = 0; i < 12; i++) {
                vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
            }
            Thread.sleep(2_500);
            var retention = vault.context.getBean(fr.hdsvault.api.audit.AuditRetention.class);
            deleted = retention.prune(java.time.Instant.now().minusSeconds(2), java.time.Instant.now());
            assertThat(deleted).as("whole checkpointed ranges only").isPositive().isLessThanOrEqualTo(12);
            vault.send("GET", "/fhir/Patient?_count=1", token, null);
        }
        Outcome afterPrune = verify(data);
        assertThat(afterPrune.exit()).as(afterPrune.err()).isZero();
        assertThat(afterPrune.out()).contains(deleted + " pruned by retention");
        // The vault resumes the log from the pruned point, and proves what it still holds (no further pruning meanwhile: its
        // hourly retention would run at once on the restarted vault, 2 s being long past).
        try (VaultHttps vault = new VaultHttps(data, Map.of("vault.audit.checkpoint-every", "5"))) {
            String token = TestTokens.ofVault(data).sign("dr-house", "practitioner", "user/*.cruds", null);
            vault.send("GET", "/fhir/Patient?_count=1", token, null);
            String auditor = TestTokens.ofVault(data).sign("audit-1", "auditor", null, null);
            vault.get("/admin/audit/verify", auditor); // checkpoints the latest events
            Map<String, Object> latest = ((List<Map<String, Object>>) JSON.readValue(vault.get("/admin/audit/checkpoints?limit=1",
                    auditor).body(), List.class)).get(0);
            long size = ((Number) latest.get("treeSize")).longValue();
            for (long index = deleted; index < size; index++) {
                Map<String, Object> proof = JSON.readValue(vault.get("/admin/audit/proof/inclusion?index=" + index + "&treeSize=" + size,
                        auditor).body(), Map.class);
                assertThat(proof.get("rootHash")).as("index %d: %s", index, proof).isEqualTo(latest.get("rootHash"));
                List<byte[]> path = ((List<String>) proof.get("proof")).stream().map(java.util.Base64.getDecoder()::decode).toList();
                assertThat(fr.hdsvault.crypto.tlog.MerkleTree.verifyInclusion(java.util.Base64.getDecoder().decode((String) proof.get("leafHash")),
                        index, size, path, java.util.Base64.getDecoder().decode((String) latest.get("rootHash")))).as("index %d", index).isTrue();
            }
        }
        Outcome afterRestart = verify(data);
        assertThat(afterRestart.exit()).as(afterRestart.err()).isZero();
        // Forged peaks at the pruning point are caught against the signed checkpoint.
        Path forged = dir.resolve("retention-forged");
        Path saved = original;
        original = data;
        try {
            String latest = "(select max(tree_size) from audit_prune)";
            Outcome o = verify(tampered("retention-forged", db -> db.update("update audit_prune set peaks = ? where tree_size = "
                    + latest, (Object) new byte[db.queryForObject("select peaks from audit_prune where tree_size = " + latest,
                    byte[].class).length])));
            assertThat(o.exit()).isEqualTo(1);
            assertThat(o.err()).contains("pruned range");
        } finally {
            original = saved;
        }
        assertThat(forged).exists();
    }
}
