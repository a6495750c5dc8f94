package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.AuditEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Every access becomes a BALP AuditEvent, durable before the answer; when the trail cannot be
 * written, the vault answers 503 and returns nothing.
 */
class AuditTrailTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static JdbcTemplate jdbc;
    static EnvelopeCipher envelopes;
    static String practitioner;
    static String patientToken;
    static String auditor;
    static String patientA;
    static String patientB;
    static String obsA;
    static final FhirContext FHIR = FhirContext.forR4Cached();

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.security.break-glass.enabled", "true",
                "vault.audit.checkpoint-every", "5"));
        jdbc = vault.context.getBean(JdbcTemplate.class);
        envelopes = new EnvelopeCipher(vault.context.getBean(Keyring.class));
        TestTokens tokens = TestTokens.ofVault(dir.resolve("vault"));
        practitioner = tokens.sign("dr-house", "practitioner", "user/*.cruds", null);
        patientA = create("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Zebulon\"}]}");
        patientB = create("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Yolanda\"}]}");
        obsA = create("Observation", AccessControlTest.observation(null, patientA));
        create("Observation", AccessControlTest.observation(null, patientB));
        patientToken = tokens.sign("zebulon", "patient", "patient/*.rs", patientA);
        auditor = tokens.sign("audit-1", "auditor", null, null);
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static String create(String type, String body) throws Exception {
        HttpResponse<String> r = vault.send("POST", "/fhir/" + type, practitioner, body);
        assertThat(r.statusCode()).isEqualTo(201);
        return FHIR.newJsonParser().parseResource(r.body()).getIdElement().getIdPart();
    }

    static long size() {
        return jdbc.queryForObject("select count(*) from audit_event", Long.class);
    }

    /** The events recorded from position {@code from} on, decrypted. */
    static List<AuditEvent> since(long from) {
        return jdbc.query("select seq, envelope from audit_event where seq >= ? order by seq", (rs, n) -> {
            byte[] json = envelopes.open(new EncryptionContext("default", "AuditEvent", String.valueOf(rs.getLong(1)), "1"),
                    rs.getBytes(2));
            return FHIR.newJsonParser().parseResource(AuditEvent.class, new String(json, StandardCharsets.UTF_8));
        }, from);
    }

    static List<String> references(AuditEvent e) {
        return e.getEntity().stream().filter(x -> x.hasWhat()).map(x -> x.getWhat().getReference()).toList();
    }

    @Test
    void aReadIsOneBalpEventDurableBeforeTheAnswer() throws Exception {
        long before = size();
        HttpResponse<String> r = vault.send("GET", "/fhir/Observation/" + obsA, practitioner, null);
        assertThat(r.statusCode()).isEqualTo(200);
        // The event is in the database when the answer arrives: no waiting.
        List<AuditEvent> events = since(before);
        assertThat(events).hasSize(1);
        AuditEvent e = events.get(0);
        assertThat(e.getType().getCode()).isEqualTo("rest");
        assertThat(e.getSubtypeFirstRep().getSystem()).isEqualTo("http://hl7.org/fhir/restful-interaction");
        assertThat(e.getSubtypeFirstRep().getCode()).isEqualTo("read");
        assertThat(e.getAction()).isEqualTo(AuditEvent.AuditEventAction.R);
        assertThat(e.getOutcome()).isEqualTo(AuditEvent.AuditEventOutcome._0);
        AuditEvent.AuditEventAgentComponent user = e.getAgentFirstRep();
        assertThat(user.getRequestor()).isTrue();
        assertThat(user.getWho().getIdentifier().getValue()).isEqualTo("dr-house");
        assertThat(user.getRoleFirstRep().getCodingFirstRep().getCode()).isEqualTo("practitioner");
        assertThat(user.getNetwork().getAddress()).isEqualTo("127.0.0.1");
        assertThat(e.getSource().getObserver().getDisplay()).startsWith("hds-vault ");
        assertThat(references(e)).containsExactly("Patient/" + patientA, "Observation/" + obsA);
        assertThat(e.getEntity().get(0).getRole().getCode()).isEqualTo("1"); // patient
    }

    @Test
    void aSearchTouchingTwoPatientsIsOneEventPerPatientWithTheQuery() throws Exception {
        long before = size();
        assertThat(vault.send("GET", "/fhir/Observation?_count=50", practitioner, null).statusCode()).isEqualTo(200);
        List<AuditEvent> events = since(before);
        assertThat(events).hasSizeGreaterThanOrEqualTo(2).allSatisfy(e -> {
            assertThat(e.getSubtypeFirstRep().getCode()).isEqualTo("search-type");
            assertThat(e.getAction()).isEqualTo(AuditEvent.AuditEventAction.E);
            assertThat(e.getEntity()).filteredOn(x -> x.hasQuery())
                    .anySatisfy(x -> assertThat(new String(x.getQuery(), StandardCharsets.UTF_8)).isEqualTo("_count=50"));
        });
        assertThat(events).extracting(e -> references(e).get(0)).contains("Patient/" + patientA, "Patient/" + patientB).doesNotHaveDuplicates();
    }

    @Test
    void writesRefusalsAndBreakGlassAreRecorded() throws Exception {
        long before = size();
        create("Observation", AccessControlTest.observation(null, patientA));
        assertThat(vault.send("GET", "/fhir/Observation/" + obsA, null, null).statusCode()).isEqualTo(401);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsA, auditor, null).statusCode()).isEqualTo(403);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsA, practitioner, null, "X-Break-Glass-Reason", "cardiac arrest in ward 3")
                .statusCode()).isEqualTo(200);
        List<AuditEvent> events = since(before);
        assertThat(events).hasSize(4);
        assertThat(events.get(0).getAction()).isEqualTo(AuditEvent.AuditEventAction.C);
        assertThat(references(events.get(0))).contains("Patient/" + patientA);
        assertThat(events.get(1).getOutcome()).isEqualTo(AuditEvent.AuditEventOutcome._4);
        assertThat(events.get(1).getOutcomeDesc()).isEqualTo("HTTP 401");
        assertThat(events.get(1).getAgentFirstRep().getWho().getDisplay()).isEqualTo("unauthenticated");
        assertThat(events.get(2).getOutcomeDesc()).isEqualTo("HTTP 403");
        assertThat(events.get(2).getAgentFirstRep().getWho().getIdentifier().getValue()).isEqualTo("audit-1");
        assertThat(events.get(3).getPurposeOfEventFirstRep().getCodingFirstRep().getCode()).isEqualTo("BTG");
        assertThat(events.get(3).getPurposeOfEventFirstRep().getText()).isEqualTo("cardiac arrest in ward 3");
    }

    @Test
    void theTrailHoldsNoPatientValueOrSubjectInClear() {
        String rows = jdbc.queryForList("select seq, action, outcome, subtype, agent_token, patient_token, entity_token from audit_event")
                .toString();
        assertThat(rows).doesNotContain(patientA).doesNotContain("dr-house").doesNotContain("Zebulon");
        List<byte[]> envelopesRaw = jdbc.query("select envelope from audit_event", (rs, n) -> rs.getBytes(1));
        assertThat(envelopesRaw).allSatisfy(b -> assertThat(new String(b, StandardCharsets.ISO_8859_1))
                .doesNotContain("dr-house").doesNotContain(patientA));
        assertThat(jdbc.queryForObject("select count(*) from audit_checkpoint", Integer.class)).isPositive();
    }

    @Test
    void whenTheTrailCannotBeWrittenRequestsAre503AndReturnNothing() throws Exception {
        jdbc.execute("alter table audit_event rename to audit_event_away");
        try {
            HttpResponse<String> read = vault.send("GET", "/fhir/Patient/" + patientA, practitioner, null);
            assertThat(read.statusCode()).isEqualTo(503);
            assertThat(read.body()).contains("OperationOutcome").contains("audit trail").doesNotContain("Zebulon");
            HttpResponse<String> search = vault.send("GET", "/fhir/Patient?_count=10", patientToken, null);
            assertThat(search.statusCode()).isEqualTo(503);
            assertThat(search.body()).doesNotContain("Zebulon");
            // Once the trail is known to fail, a write is refused before it changes anything.
            int patients = jdbc.queryForObject("select count(*) from resource_current where resource_type = 'Patient'", Integer.class);
            HttpResponse<String> write = vault.send("POST", "/fhir/Patient", practitioner, "{\"resourceType\":\"Patient\"}");
            assertThat(write.statusCode()).isEqualTo(503);
            assertThat(jdbc.queryForObject("select count(*) from resource_current where resource_type = 'Patient'", Integer.class))
                    .isEqualTo(patients);
        } finally {
            jdbc.execute("alter table audit_event_away rename to audit_event");
        }
        HttpResponse<String> again = vault.send("GET", "/fhir/Patient/" + patientA, practitioner, null);
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(again.body()).contains("Zebulon");
    }

    @Test
    void auditorsSearchTheTrailPatientsSeeTheirOwnOthersSeeNothing() throws Exception {
        vault.send("GET", "/fhir/Observation/" + obsA, practitioner, null);
        org.hl7.fhir.r4.model.Bundle aboutA = AccessControlTest.searchWith(vault, auditor, "/fhir/AuditEvent?patient=Patient/" + patientA + "&_count=500");
        assertThat(aboutA.getTotal()).isPositive();
        assertThat(aboutA.getEntry()).allSatisfy(e -> assertThat(references((AuditEvent) e.getResource())).contains("Patient/" + patientA));
        org.hl7.fhir.r4.model.Bundle byHouseCreates = AccessControlTest.searchWith(vault, auditor, "/fhir/AuditEvent?agent=dr-house&action=C&_count=500");
        assertThat(byHouseCreates.getTotal()).isGreaterThanOrEqualTo(4);
        assertThat(byHouseCreates.getEntry()).allSatisfy(e -> assertThat(((AuditEvent) e.getResource()).getAction())
                .isEqualTo(AuditEvent.AuditEventAction.C));
        org.hl7.fhir.r4.model.Bundle newest = AccessControlTest.searchWith(vault, auditor, "/fhir/AuditEvent?_sort=-date&_count=1");
        assertThat(Long.parseLong(newest.getEntryFirstRep().getResource().getIdElement().getIdPart())).isEqualTo(size() - 2);

        // A patient: who accessed my record; never another patient's events.
        org.hl7.fhir.r4.model.Bundle mine = AccessControlTest.searchWith(vault, patientToken, "/fhir/AuditEvent?_count=500");
        assertThat(mine.getTotal()).isPositive();
        assertThat(mine.getEntry()).allSatisfy(e -> assertThat(references((AuditEvent) e.getResource())).contains("Patient/" + patientA));
        assertThat(AccessControlTest.searchWith(vault, patientToken, "/fhir/AuditEvent?patient=Patient/" + patientB).getTotal()).isZero();
        org.hl7.fhir.r4.model.Bundle aboutB = AccessControlTest.searchWith(vault, auditor, "/fhir/AuditEvent?patient=Patient/" + patientB + "&_count=1");
        String eventAboutB = aboutB.getEntryFirstRep().getResource().getIdElement().getIdPart();
        assertThat(vault.send("GET", "/fhir/AuditEvent/" + eventAboutB, patientToken, null).statusCode()).isEqualTo(404);
        assertThat(vault.send("GET", "/fhir/AuditEvent/" + eventAboutB, auditor, null).statusCode()).isEqualTo(200);
        assertThat(vault.send("GET", "/fhir/AuditEvent", practitioner, null).statusCode()).isEqualTo(403);
        assertThat(vault.send("POST", "/fhir/AuditEvent", auditor, "{\"resourceType\":\"AuditEvent\"}").statusCode()).isEqualTo(403);
        assertThat(vault.send("DELETE", "/fhir/AuditEvent/" + eventAboutB, auditor, null).statusCode()).isEqualTo(403);

        // Reading the trail is itself in the trail.
        AuditEvent last = since(size() - 1).get(0);
        assertThat(last.getAgentFirstRep().getWho().getIdentifier().getValue()).isEqualTo("audit-1");
    }

    @Test
    void proofsFromTheAdminApiVerifyOfflineAgainstSignedCheckpoints() throws Exception {
        byte[] publicKey = fr.hdsvault.api.audit.AuditKeys.readPublic(dir.resolve("vault").resolve("keys")
                .resolve(fr.hdsvault.api.audit.AuditKeys.PUBLIC_FILE));
        for (int i = 0; i < 6; i++) {
            vault.send("GET", "/fhir/Observation/" + obsA, practitioner, null);
        }
        vault.context.getBean(fr.hdsvault.api.audit.AuditTrail.class).checkpoint();
        HttpResponse<String> list = vault.send("GET", "/admin/audit/checkpoints", auditor, null);
        assertThat(list.statusCode()).isEqualTo(200);
        com.fasterxml.jackson.databind.JsonNode checkpoints = new com.fasterxml.jackson.databind.ObjectMapper().readTree(list.body());
        assertThat(checkpoints.size()).isGreaterThanOrEqualTo(2);
        var newest = fr.hdsvault.crypto.tlog.Checkpoint.verify(checkpoints.get(0).get("note").asText(), "hds-vault-audit", publicKey).orElseThrow();
        var older = fr.hdsvault.crypto.tlog.Checkpoint.verify(checkpoints.get(1).get("note").asText(), "hds-vault-audit", publicKey).orElseThrow();

        com.fasterxml.jackson.databind.JsonNode inclusion = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                vault.send("GET", "/admin/audit/proof/inclusion?index=3&treeSize=" + newest.size(), auditor, null).body());
        byte[] leaf = java.util.Base64.getDecoder().decode(inclusion.get("leafHash").asText());
        List<byte[]> path = new java.util.ArrayList<>();
        inclusion.get("proof").forEach(n -> path.add(java.util.Base64.getDecoder().decode(n.asText())));
        assertThat(fr.hdsvault.crypto.tlog.MerkleTree.verifyInclusion(leaf, 3, newest.size(), path, newest.rootHash())).isTrue();
        byte[] alteredLeaf = leaf.clone();
        alteredLeaf[0] ^= 1;
        assertThat(fr.hdsvault.crypto.tlog.MerkleTree.verifyInclusion(alteredLeaf, 3, newest.size(), path, newest.rootHash())).isFalse();

        com.fasterxml.jackson.databind.JsonNode consistency = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                vault.send("GET", "/admin/audit/proof/consistency?first=" + older.size() + "&second=" + newest.size(), auditor, null).body());
        List<byte[]> proof = new java.util.ArrayList<>();
        consistency.get("proof").forEach(n -> proof.add(java.util.Base64.getDecoder().decode(n.asText())));
        assertThat(fr.hdsvault.crypto.tlog.MerkleTree.verifyConsistency(older.size(), newest.size(), older.rootHash(), newest.rootHash(), proof))
                .isTrue();
        if (!proof.isEmpty()) {
            List<byte[]> altered = new java.util.ArrayList<>(proof);
            altered.remove(0);
            assertThat(fr.hdsvault.crypto.tlog.MerkleTree.verifyConsistency(older.size(), newest.size(), older.rootHash(),
                    newest.rootHash(), altered)).isFalse();
        }
        assertThat(vault.send("GET", "/admin/audit/checkpoints", practitioner, null).statusCode()).isEqualTo(403);
        String operator = TestTokens.ofVault(dir.resolve("vault")).sign("ops-1", "operator", null, null);
        assertThat(vault.send("GET", "/admin/audit/checkpoints", operator, null).statusCode()).isEqualTo(403);
    }

    @Test
    void auditVerifyRunsAgainstTheRunningVaultThroughItsApi() {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int exit = new picocli.CommandLine(new fr.hdsvault.api.cli.AuditCommand()).setOut(new java.io.PrintWriter(out))
                .setErr(new java.io.PrintWriter(err))
                .execute("verify", "--data-dir", dir.resolve("vault").toString(), "--url", vault.base, "--token", auditor);
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).startsWith("audit trail verified: ").contains("0 events after the latest checkpoint");
        int refused = new picocli.CommandLine(new fr.hdsvault.api.cli.AuditCommand()).setErr(new java.io.PrintWriter(new java.io.StringWriter()))
                .execute("verify", "--data-dir", dir.resolve("vault").toString(), "--url", vault.base, "--token", practitioner);
        assertThat(refused).isEqualTo(2);
    }
}
