package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The detection rules, planted misuse against normal use, on a running vault: an agent reading
 * more patients than the threshold is alerted once, an agent trying ids that do not exist is
 * alerted, an agent within the thresholds is not; each break-glass access, a break-glass reason
 * that says nothing, break-glass on too many patients, a sensitive patient's record read by
 * someone else, and a change of privileges are alerted. The alerts are AuditEvents in the trail
 * that the auditor finds by subtype and by agent; a patient sees those about its own record, and
 * no other.
 */
class DetectionTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final String ALERTS = "subtype=urn:hds-vault:alert%7C";

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static String auditor;
    static final List<String> patients = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        // Off hours from an hour ago to an hour from now: the whole test runs off hours.
        java.time.LocalTime now = java.time.LocalTime.now(java.time.ZoneOffset.UTC).withSecond(0).withNano(0);
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.detection.off-hours.patients", "7",
                "vault.detection.off-hours.start", now.minusHours(1).toString(), "vault.detection.off-hours.end", now.plusHours(1).toString(),
                "vault.detection.off-hours.zone", "UTC", "vault.detection.evaluate-every", "1s",
                "vault.detection.mass-access.patients", "5", "vault.detection.enumeration.refusals", "10",
                "vault.security.break-glass.enabled", "true", "vault.detection.break-glass.patients", "2",
                "vault.detection.sensitive-patients", "sensitive-1")); // detection is on by default
        tokens = TestTokens.ofVault(vault.dataDir);
        auditor = tokens.sign("security-officer", "auditor", null, null);
        String loader = tokens.sign("loader", "practitioner", "user/*.cruds", null);
        for (int i = 0; i < 8; i++) {
            HttpResponse<String> r = vault.send("POST", "/fhir/Patient", loader, "{\"resourceType\":\"Patient\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            patients.add(r.headers().firstValue("Location").orElseThrow().replaceAll(".*/Patient/([^/]+).*", "$1"));
        }
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static List<AuditEvent> events(String query, String token) throws Exception {
        HttpResponse<String> r = vault.get("/fhir/AuditEvent?" + query + "&_count=1000", token);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry().stream()
                .map(e -> (AuditEvent) e.getResource()).toList();
    }

    static void read(String token, List<String> ids) throws Exception {
        for (String id : ids) {
            HttpResponse<String> r = vault.get("/fhir/Patient/" + id, token);
            assertThat(r.statusCode()).as(r.body()).isIn(200, 404);
        }
    }

    /** Waits for the detector (it runs after the events are durable, off the request path). */
    static List<AuditEvent> alertsFor(String agent, String rule, int atLeast) throws Exception {
        List<AuditEvent> alerts = List.of();
        for (int i = 0; i < 100 && alerts.size() < atLeast; i++) {
            alerts = events(ALERTS + rule + "&agent=" + agent, auditor);
            if (alerts.size() < atLeast) {
                Thread.sleep(100);
            }
        }
        return alerts;
    }

    @Test
    void anAgentReadingMorePatientsThanTheThresholdIsAlertedOnceAndAnotherWithinItIsNot() throws Exception {
        String curious = tokens.sign("dr-curious", "practitioner", "user/*.rs", null);
        String normal = tokens.sign("dr-normal", "practitioner", "user/*.rs", null);
        read(normal, patients.subList(0, 3));
        read(curious, patients);

        List<AuditEvent> alerts = alertsFor("dr-curious", "mass-access", 1);
        assertThat(alerts).hasSize(1);
        AuditEvent alert = alerts.get(0);
        assertThat(alert.getSubtypeFirstRep().getSystem()).isEqualTo("urn:hds-vault:alert");
        assertThat(alert.getAgentFirstRep().getWho().getIdentifier().getValue()).isEqualTo("dr-curious");
        assertThat(alert.getOutcomeDesc()).isEqualTo("more than 5 distinct patients in PT1H");
        assertThat(alert.getEntity()).noneMatch(e -> e.getWhat().getReference() != null); // names no record

        List<AuditEvent> offHours = alertsFor("dr-curious", "off-hours", 1);
        assertThat(offHours).hasSize(1);
        assertThat(offHours.get(0).getOutcomeDesc()).startsWith("more than 7 distinct patients off hours (").endsWith(" and weekends, UTC)");

        read(curious, patients); // more of the same within the window: no second alert
        Thread.sleep(2_500); // past evaluate-every, twice
        read(curious, patients.subList(0, 1));
        Thread.sleep(1_500);
        assertThat(events(ALERTS + "mass-access&agent=dr-curious", auditor)).hasSize(1);
        assertThat(events(ALERTS + "&agent=dr-normal", auditor)).isEmpty();
    }

    @Test
    void anAgentTryingIdsThatDoNotExistIsAlertedForEnumeration() throws Exception {
        String prober = tokens.sign("dr-prober", "practitioner", "user/*.rs", null);
        List<String> unknown = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            unknown.add(UUID.randomUUID().toString());
        }
        read(prober, unknown);
        List<AuditEvent> alerts = alertsFor("dr-prober", "enumeration", 1);
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).getOutcomeDesc()).isEqualTo("more than 10 refused requests in PT10M");
        assertThat(events(ALERTS + "mass-access&agent=dr-prober", auditor)).isEmpty();
    }

    @Test
    void aPatientNeverSeesAlertsAndOnlyAlertSubtypesAreSearchable() throws Exception {
        String curious = tokens.sign("dr-curious-2", "practitioner", "user/*.rs", null);
        read(curious, patients);
        assertThat(alertsFor("dr-curious-2", "mass-access", 1)).hasSize(1);

        String patient = tokens.sign("patient-0", "patient", "patient/*.rs", patients.get(0));
        assertThat(events(ALERTS, patient)).isEmpty();
        assertThat(events("patient=Patient/" + patients.get(0), patient)).isNotEmpty(); // its own accesses, as before

        HttpResponse<String> r = vault.get("/fhir/AuditEvent?subtype=http://hl7.org/fhir/restful-interaction%7Cread", auditor);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("OperationOutcome").contains("security alerts only");
    }

    static String breakGlassRead(String token, String patient, String reason) throws Exception {
        HttpResponse<String> r = vault.send("GET", "/fhir/Patient/" + patient, token, null, "X-Break-Glass-Reason", reason);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return patient;
    }

    static String patientEntity(AuditEvent alert) {
        return alert.getEntity().stream().map(e -> e.getWhat().getReference()).filter(r -> r != null).findFirst().orElse(null);
    }

    @Test
    void breakGlassIsAlertedEachTimeWithAPoorReasonAndWhenTooFrequentAndThePatientSeesItsOwn() throws Exception {
        // A patient-scoped practitioner (launch context of another patient) reads outside its scope by breaking the glass.
        String doctor = tokens.sign("dr-emergency", "practitioner", "patient/*.rs", "no-such-patient");
        breakGlassRead(doctor, patients.get(0), "ok");
        List<AuditEvent> each = alertsFor("dr-emergency", "break-glass", 1);
        assertThat(each).hasSize(1);
        assertThat(patientEntity(each.get(0))).isEqualTo("Patient/" + patients.get(0));
        List<AuditEvent> reason = alertsFor("dr-emergency", "break-glass-reason", 1);
        assertThat(reason).hasSize(1);
        assertThat(reason.get(0).getOutcomeDesc()).isEqualTo("a break-glass reason of 2 characters (at least 15 expected)")
                .doesNotContain("ok");

        breakGlassRead(doctor, patients.get(0), "ok"); // the same patient again the same day: no new alert
        breakGlassRead(doctor, patients.get(1), "polytrauma, unconscious on arrival");
        breakGlassRead(doctor, patients.get(2), "polytrauma, unconscious on arrival");
        assertThat(alertsFor("dr-emergency", "break-glass", 3)).hasSize(3);
        List<AuditEvent> frequent = alertsFor("dr-emergency", "break-glass-frequent", 1);
        assertThat(frequent).hasSize(1);
        assertThat(frequent.get(0).getOutcomeDesc()).isEqualTo("break-glass on more than 2 patients' records in PT168H");
        assertThat(patientEntity(frequent.get(0))).isNull();
        assertThat(alertsFor("dr-emergency", "break-glass-reason", 1)).hasSize(1); // the good reasons raised none

        // The patient sees who broke the glass on its record, and no alert about another patient.
        String patient = tokens.sign("patient-bg", "patient", "patient/*.rs", patients.get(0));
        List<AuditEvent> seen = events(ALERTS, patient);
        assertThat(seen).extracting(e -> e.getSubtypeFirstRep().getCode()).containsExactlyInAnyOrder("break-glass", "break-glass-reason");
        assertThat(seen).allSatisfy(e -> assertThat(patientEntity(e)).isEqualTo("Patient/" + patients.get(0)));
        assertThat(events("patient=Patient/" + patients.get(0), patient)).filteredOn(e -> e.getPurposeOfEvent().stream()
                .anyMatch(p -> "BTG".equals(p.getCodingFirstRep().getCode()))).hasSize(2); // the accesses, marked break-glass
    }

    @Test
    void aSensitivePatientsRecordReadBySomeoneElseIsAlertedButNotByThePatientItself() throws Exception {
        String loader = tokens.sign("loader", "practitioner", "user/*.cruds", null);
        HttpResponse<String> put = vault.send("PUT", "/fhir/Patient/sensitive-1", loader, "{\"resourceType\":\"Patient\",\"id\":\"sensitive-1\"}");
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
        String self = tokens.sign("patient-sensitive", "patient", "patient/*.rs", "sensitive-1");
        assertThat(vault.get("/fhir/Patient/sensitive-1", self).statusCode()).isEqualTo(200);
        String nosy = tokens.sign("dr-nosy", "practitioner", "user/*.rs", null);
        assertThat(vault.get("/fhir/Patient/sensitive-1", nosy).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient/" + patients.get(3), nosy).statusCode()).isEqualTo(200); // not on the list

        List<AuditEvent> alerts = alertsFor("dr-nosy", "sensitive-patient", 1);
        assertThat(alerts).hasSize(1);
        assertThat(patientEntity(alerts.get(0))).isEqualTo("Patient/sensitive-1");
        Thread.sleep(1_500);
        assertThat(events(ALERTS + "sensitive-patient&agent=patient-sensitive", auditor)).isEmpty();
        assertThat(events(ALERTS + "sensitive-patient&agent=dr-nosy", auditor)).hasSize(1);
    }

    @Test
    void aChangeOfPrivilegesIsAlertedEachTime() throws Exception {
        String operator = tokens.sign("ops-detect", "operator", null, null);
        var key = new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_384).keyID("k1").generate().toPublicJWK();
        String body = "{\"clientId\":\"lab-system\",\"scope\":\"system/Observation.rs\",\"jwks\":{\"keys\":[" + key.toJSONString() + "]}}";
        HttpResponse<String> r = vault.send("POST", "/admin/clients", operator, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(vault.send("POST", "/admin/clients/lab-system/disable", operator, null).statusCode()).isEqualTo(200);
        List<AuditEvent> alerts = alertsFor("ops-detect", "privileged-change", 2);
        assertThat(alerts).hasSize(2).allSatisfy(a -> assertThat(a.getOutcomeDesc()).isEqualTo("backend-client succeeded"));
    }
}
