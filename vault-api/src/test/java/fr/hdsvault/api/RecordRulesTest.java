package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The detection rules that look at the records through the blind index, and the one that follows
 * tokens across addresses, on a running vault: a record labelled restricted makes its patient
 * sensitive; a practitioner reading the record of a patient with its family name, or with its
 * family and given names, is alerted (names compared as keyed hashes, none in the alert); one
 * token used from two addresses (through a trusted proxy) is alerted, used from one is not.
 */
class RecordRulesTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static String loader;
    static String auditor;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.http.trusted-proxies", "127.0.0.1/32",
                "vault.detection.evaluate-every", "1s", "vault.security.break-glass.enabled", "true",
                "vault.detection.break-glass.care-within", "2s"));
        tokens = TestTokens.ofVault(vault.dataDir);
        loader = tokens.sign("loader", "practitioner", "user/*.cruds", null);
        auditor = tokens.sign("security-officer", "auditor", null, null);
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    @Test
    void aRecordLabelledRestrictedMakesItsPatientSensitive() throws Exception {
        String labelled = created("Patient", "{\"resourceType\":\"Patient\",\"meta\":{\"security\":[{\"system\":"
                + "\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\",\"code\":\"R\"}]}}");
        String plain = created("Patient", "{\"resourceType\":\"Patient\",\"meta\":{\"security\":[{\"system\":"
                + "\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\",\"code\":\"N\"}]}}");
        String reader = tokens.sign("curious-reader", "practitioner", "user/*.cruds", null);
        read(reader, "Patient/" + labelled);
        read(reader, "Patient/" + plain);
        List<AuditEvent> alerts = alerts("curious-reader", "sensitive-patient", 1);
        assertThat(alerts).hasSize(1);
        assertThat(patientOf(alerts.get(0))).isEqualTo("Patient/" + labelled);
        assertThat(alerts.get(0).getOutcomeDesc()).contains("labelled restricted");
    }

    @Test
    void aPractitionerReadingTheRecordOfItsFamilyOrItsOwnIsAlertedAndNamesStayOutOfTheAlert() throws Exception {
        String practitioner = created("Practitioner", "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\"Evidencier\","
                + "\"given\":[\"Camille\"]}]}");
        String relative = created("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Evidencier\",\"given\":[\"Jules\"]}]}");
        String self = created("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"EVIDENCIER\",\"given\":[\"Camille\"]}]}");
        String stranger = created("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Autrenom\",\"given\":[\"Camille\"]}]}");
        String token = tokens.sign("dr-42", "practitioner", "user/*.cruds", null,
                c -> c.claim("fhirUser", "Practitioner/" + practitioner));
        for (String id : List.of(relative, self, stranger)) {
            read(token, "Patient/" + id);
        }
        List<AuditEvent> sameFamily = alerts("dr-42", "same-family-name", 1);
        List<AuditEvent> selfAccess = alerts("dr-42", "self-access", 1);
        assertThat(sameFamily).extracting(RecordRulesTest::patientOf).containsExactly("Patient/" + relative);
        assertThat(selfAccess).extracting(RecordRulesTest::patientOf).containsExactly("Patient/" + self);
        for (AuditEvent alert : List.of(sameFamily.get(0), selfAccess.get(0))) {
            assertThat(FHIR.newJsonParser().encodeResourceToString(alert)).doesNotContainIgnoringCase("evidencier")
                    .doesNotContain("Camille").doesNotContain("Jules");
        }
        // The practitioner without a fhirUser (the loader) wrote all of them: no alert, nothing to compare.
        assertThat(events("agent=loader&subtype=urn:hds-vault:alert%7Csame-family-name")).isEmpty();
    }

    @Test
    void oneTokenUsedFromTwoAddressesIsAlertedAndFromOneIsNot() throws Exception {
        String steady = tokens.sign("steady-user", "practitioner", "user/*.cruds", null);
        String replayed = tokens.sign("replayed-user", "practitioner", "user/*.cruds", null);
        String patient = created("Patient", "{\"resourceType\":\"Patient\"}");
        for (String address : List.of("203.0.113.5", "203.0.113.5", "203.0.113.5")) {
            assertThat(vault.send("GET", "/fhir/Patient/" + patient, steady, null, "X-Forwarded-For", address).statusCode()).isEqualTo(200);
        }
        for (String address : List.of("203.0.113.5", "198.51.100.7")) {
            assertThat(vault.send("GET", "/fhir/Patient/" + patient, replayed, null, "X-Forwarded-For", address).statusCode())
                    .isEqualTo(200);
        }
        List<AuditEvent> alerts = alerts("replayed-user", "token-addresses", 1);
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).getOutcomeDesc()).contains("2 network addresses").doesNotContain("198.51.100.7");
        Thread.sleep(1500); // the detector has had the steady user's events as long as the other's
        assertThat(events("agent=steady-user&subtype=urn:hds-vault:alert%7Ctoken-addresses")).isEmpty();
        // The token's id is in the trail (BALP agent.policy): the accesses of one token can be followed.
        AuditEvent access = events("agent=replayed-user&action=R").get(0);
        assertThat(access.getAgent().get(0).getPolicy()).isNotEmpty();
    }

    @Test
    void breakGlassWithNoCareAfterwardsIsAlertedAndWithCareIsNot() throws Exception {
        String own = created("Patient", "{\"resourceType\":\"Patient\"}");
        String cared = created("Patient", "{\"resourceType\":\"Patient\"}");
        String looked = created("Patient", "{\"resourceType\":\"Patient\"}");
        String inOwnContext = tokens.sign("dr-emergency", "practitioner", "launch/patient patient/*.cruds", own);
        for (String id : List.of(cared, looked)) {
            HttpResponse<String> r = vault.send("GET", "/fhir/Patient/" + id, inOwnContext, null, "X-Break-Glass-Reason",
                    "unconscious patient brought to the emergency room");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        // The emergency goes on: the patient is taken into care, and the practitioner records an observation.
        String inCare = tokens.sign("dr-emergency", "practitioner", "launch/patient patient/*.cruds", cared);
        HttpResponse<String> observed = vault.send("POST", "/fhir/Observation", inCare, "{\"resourceType\":\"Observation\",\"status\":"
                + "\"final\",\"code\":{\"text\":\"heart rate\"},\"subject\":{\"reference\":\"Patient/" + cared + "\"}}");
        assertThat(observed.statusCode()).as(observed.body()).isEqualTo(201);

        List<AuditEvent> alerts = alerts("dr-emergency", "break-glass-no-care", 1);
        assertThat(alerts).extracting(RecordRulesTest::patientOf).containsExactly("Patient/" + looked);
        Thread.sleep(2500); // another scan: still only that one
        assertThat(events("agent=dr-emergency&subtype=urn:hds-vault:alert%7Cbreak-glass-no-care")).hasSize(1);
    }

    static String created(String type, String json) throws Exception {
        return vault.create(type, json, loader);
    }

    static void read(String token, String reference) throws Exception {
        HttpResponse<String> r = vault.get("/fhir/" + reference, token);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    static List<AuditEvent> events(String query) throws Exception {
        HttpResponse<String> r = vault.get("/fhir/AuditEvent?" + query + "&_count=100", auditor);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry().stream().map(e -> (AuditEvent) e.getResource())
                .toList();
    }

    /** The alerts of a rule about an agent, once at least {@code atLeast} are there (the detector runs off the request path). */
    static List<AuditEvent> alerts(String agent, String rule, int atLeast) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<AuditEvent> found;
        do {
            found = events("agent=" + agent + "&subtype=urn:hds-vault:alert%7C" + rule);
            if (found.size() >= atLeast) {
                Thread.sleep(500); // and none more arrive
                return events("agent=" + agent + "&subtype=urn:hds-vault:alert%7C" + rule);
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        return found;
    }

    static String patientOf(AuditEvent alert) {
        return alert.getEntity().stream().filter(e -> e.getWhat().hasReference()).map(e -> e.getWhat().getReference()).findFirst()
                .orElse(null);
    }
}
