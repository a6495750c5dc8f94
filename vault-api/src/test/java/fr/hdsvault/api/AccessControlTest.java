package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may do what, over real HTTPS with real signed tokens: each role x each interaction x a
 * resource of the caller's own patient, of another patient, and outside every patient
 * compartment; search leakage; paging links; transactions; break-glass.
 */
class AccessControlTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final Map<String, String> TOKENS = new LinkedHashMap<>();
    static String patientA;
    static String patientB;
    static String obsA;
    static String obsB;
    static String doctor;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.security.break-glass.enabled", "true"));
        TestTokens tokens = TestTokens.ofVault(dir.resolve("vault"));
        TOKENS.put("practitioner", tokens.sign("dr-house", "practitioner", "user/*.cruds", null));
        String admin = TOKENS.get("practitioner");
        patientA = create(admin, "Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Alpha\"}]}");
        patientB = create(admin, "Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Bravo\"}]}");
        obsA = create(admin, "Observation", observation(null, patientA));
        create(admin, "Observation", observation(null, patientA));
        obsB = create(admin, "Observation", observation(null, patientB));
        doctor = create(admin, "Practitioner", "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\"Watson\"}]}");
        TOKENS.put("practitioner in patient A's context", tokens.sign("dr-wilson", "practitioner", "launch/patient patient/*.cruds", patientA));
        TOKENS.put("patient A", tokens.sign("alpha", "patient", "patient/*.rs", patientA));
        TOKENS.put("auditor", tokens.sign("audit-1", "auditor", null, null));
        TOKENS.put("operator", tokens.sign("ops-1", "operator", null, null));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static String observation(String id, String patient) {
        return "{\"resourceType\":\"Observation\"," + (id == null ? "" : "\"id\":\"" + id + "\",")
                + "\"status\":\"final\",\"code\":{\"text\":\"heart rate\"},\"subject\":{\"reference\":\"Patient/" + patient + "\"}}";
    }

    static String create(String token, String type, String body) throws Exception {
        HttpResponse<String> r = vault.send("POST", "/fhir/" + type, token, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return FHIR.newJsonParser().parseResource(r.body()).getIdElement().getIdPart();
    }

    record Case(String who, String interaction, String method, String path, String body, int expected) {
    }

    @Test
    void eachRoleGetsExactlyWhatItMayOnOwnOtherAndSharedResources() throws Exception {
        String own = "Observation/" + obsA;
        String other = "Observation/" + obsB;
        String shared = "Practitioner/" + doctor;
        String sharedBody = "{\"resourceType\":\"Practitioner\",\"id\":\"" + doctor + "\",\"name\":[{\"family\":\"Watson\"}]}";
        List<Case> cases = new ArrayList<>();
        // who, then the expected status for read / vread / history / update, on own, other, shared
        Map<String, int[][]> table = new LinkedHashMap<>();
        table.put("practitioner", new int[][] {{200, 200, 200, 200}, {200, 200, 200, 200}, {200, 200, 200, 200}});
        table.put("practitioner in patient A's context", new int[][] {{200, 200, 200, 200}, {404, 404, 404, 404}, {200, 200, 200, 403}});
        table.put("patient A", new int[][] {{200, 200, 200, 403}, {404, 404, 404, 403}, {200, 200, 200, 403}});
        table.put("auditor", new int[][] {{403, 403, 403, 403}, {403, 403, 403, 403}, {403, 403, 403, 403}});
        table.put("operator", new int[][] {{403, 403, 403, 403}, {403, 403, 403, 403}, {403, 403, 403, 403}});
        String[] targets = {own, other, shared};
        String[] labels = {"own", "other patient's", "non-compartment"};
        for (var row : table.entrySet()) {
            for (int t = 0; t < 3; t++) {
                int[] e = row.getValue()[t];
                String body = t == 2 ? sharedBody : observation(targets[t].substring(12), t == 0 ? patientA : patientB);
                cases.add(new Case(row.getKey(), "read " + labels[t], "GET", "/fhir/" + targets[t], null, e[0]));
                cases.add(new Case(row.getKey(), "vread " + labels[t], "GET", "/fhir/" + targets[t] + "/_history/1", null, e[1]));
                cases.add(new Case(row.getKey(), "history " + labels[t], "GET", "/fhir/" + targets[t] + "/_history", null, e[2]));
                cases.add(new Case(row.getKey(), "update " + labels[t], "PUT", "/fhir/" + targets[t], body, e[3]));
            }
        }
        // create, delete, $everything, search, the audit trail and the admin API
        String[][] more = {
                // who, interaction, method, path, body, status
                {"practitioner", "create for A", "POST", "/fhir/Observation", observation(null, patientA), "201"},
                {"practitioner in patient A's context", "create for A", "POST", "/fhir/Observation", observation(null, patientA), "201"},
                {"practitioner in patient A's context", "create for B", "POST", "/fhir/Observation", observation(null, patientB), "403"},
                {"practitioner in patient A's context", "create shared", "POST", "/fhir/Practitioner", sharedBody.replace(doctor, "x1"), "403"},
                {"patient A", "create for A", "POST", "/fhir/Observation", observation(null, patientA), "403"},
                {"auditor", "create", "POST", "/fhir/Observation", observation(null, patientA), "403"},
                {"operator", "create", "POST", "/fhir/Observation", observation(null, patientA), "403"},
                {"practitioner in patient A's context", "delete other", "DELETE", "/fhir/" + other, null, "404"},
                {"patient A", "delete own", "DELETE", "/fhir/" + own, null, "403"},
                {"auditor", "delete", "DELETE", "/fhir/" + own, null, "403"},
                {"operator", "delete", "DELETE", "/fhir/" + own, null, "403"},
                {"practitioner", "$everything A", "GET", "/fhir/Patient/" + patientA + "/$everything", null, "200"},
                {"practitioner", "$everything B", "GET", "/fhir/Patient/" + patientB + "/$everything", null, "200"},
                {"practitioner in patient A's context", "$everything A", "GET", "/fhir/Patient/" + patientA + "/$everything", null, "200"},
                {"practitioner in patient A's context", "$everything B", "GET", "/fhir/Patient/" + patientB + "/$everything", null, "404"},
                {"patient A", "$everything A", "GET", "/fhir/Patient/" + patientA + "/$everything", null, "200"},
                {"patient A", "$everything B", "GET", "/fhir/Patient/" + patientB + "/$everything", null, "404"},
                {"auditor", "$everything A", "GET", "/fhir/Patient/" + patientA + "/$everything", null, "403"},
                {"operator", "$everything A", "GET", "/fhir/Patient/" + patientA + "/$everything", null, "403"},
                {"practitioner", "search", "GET", "/fhir/Observation", null, "200"},
                {"patient A", "search", "GET", "/fhir/Observation", null, "200"},
                {"auditor", "search", "GET", "/fhir/Observation", null, "403"},
                {"operator", "search", "GET", "/fhir/Observation", null, "403"},
                {"auditor", "audit trail", "GET", "/fhir/AuditEvent", null, "200"},
                {"patient A", "audit trail", "GET", "/fhir/AuditEvent", null, "200"},
                {"practitioner", "audit trail", "GET", "/fhir/AuditEvent", null, "403"},
                {"practitioner", "write audit trail", "POST", "/fhir/AuditEvent", "{\"resourceType\":\"AuditEvent\"}", "403"},
                {"operator", "audit trail", "GET", "/fhir/AuditEvent", null, "403"},
                {"operator", "admin API", "GET", "/admin/none-yet", null, "404"},
                {"practitioner", "admin API", "GET", "/admin/none-yet", null, "403"},
                {"auditor", "admin API", "GET", "/admin/none-yet", null, "403"},
                {"patient A", "admin API", "GET", "/admin/none-yet", null, "403"},
        };
        for (String[] m : more) {
            cases.add(new Case(m[0], m[1], m[2], m[3], m[4], Integer.parseInt(m[5])));
        }
        List<String> wrong = new ArrayList<>();
        for (Case c : cases) {
            HttpResponse<String> r = vault.send(c.method(), c.path(), TOKENS.get(c.who()), c.body());
            if (r.statusCode() != c.expected()) {
                wrong.add(c.who() + " / " + c.interaction() + ": expected " + c.expected() + ", got " + r.statusCode());
            } else if (r.statusCode() >= 400 && c.path().startsWith("/fhir")) {
                assertThat(r.body()).as(c.who() + " / " + c.interaction()).contains("\"resourceType\":\"OperationOutcome\"");
            }
        }
        assertThat(wrong).as(cases.size() + " cases").isEmpty();
        // A deletion by an allowed caller goes through; refused ones above left the record in place.
        assertThat(vault.send("GET", "/fhir/" + own, TOKENS.get("practitioner"), null).statusCode()).isEqualTo(200);
        String disposable = create(TOKENS.get("practitioner"), "Observation", observation(null, patientA));
        assertThat(vault.send("DELETE", "/fhir/Observation/" + disposable, TOKENS.get("practitioner in patient A's context"), null)
                .statusCode()).isIn(200, 204);
        assertThat(vault.send("GET", "/fhir/Observation/" + disposable, TOKENS.get("practitioner"), null).statusCode()).isEqualTo(410);
    }

    @Test
    void aForbiddenRecordOfAnotherPatientAnswersLikeOneThatDoesNotExist() throws Exception {
        String token = TOKENS.get("patient A");
        HttpResponse<String> other = vault.send("GET", "/fhir/Observation/" + obsB, token, null);
        HttpResponse<String> absent = vault.send("GET", "/fhir/Observation/0b5e2a8e-0000-4000-8000-000000000000", token, null);
        assertThat(other.statusCode()).isEqualTo(absent.statusCode()).isEqualTo(404);
        assertThat(other.body().replace(obsB, "ID")).isEqualTo(absent.body().replace("0b5e2a8e-0000-4000-8000-000000000000", "ID"));
    }

    @Test
    void aPatientsSearchesHoldOnlyItsOwnRecordsTotalsIncluded() throws Exception {
        String practitioner = TOKENS.get("practitioner");
        String patient = TOKENS.get("patient A");
        int ownCount = search(practitioner, "/fhir/Observation?patient=Patient/" + patientA).getTotal();
        assertThat(search(practitioner, "/fhir/Observation").getTotal()).isGreaterThan(ownCount);
        Bundle mine = search(patient, "/fhir/Observation?_count=1000");
        assertThat(mine.getTotal()).isEqualTo(ownCount);
        assertThat(mine.getEntry()).hasSize(ownCount).allSatisfy(e -> assertThat(
                ((org.hl7.fhir.r4.model.Observation) e.getResource()).getSubject().getReference()).isEqualTo("Patient/" + patientA));
        assertThat(search(patient, "/fhir/Observation?patient=Patient/" + patientB).getTotal()).isZero();
        assertThat(search(patient, "/fhir/Observation?_id=" + obsB).getTotal()).isZero();
        assertThat(search(patient, "/fhir/Patient").getEntry()).extracting(e -> e.getResource().getIdElement().getIdPart())
                .containsExactly(patientA);
        assertThat(search(patient, "/fhir/Observation/_history").getEntry()).allSatisfy(e -> {
            if (e.getResource() == null) { // a deletion: its request, no content
                assertThat(e.getRequest().getMethod()).isEqualTo(Bundle.HTTPVerb.DELETE);
            } else {
                assertThat(((org.hl7.fhir.r4.model.Observation) e.getResource()).getSubject().getReference())
                        .isEqualTo("Patient/" + patientA);
            }
        });
        // $everything of its own record: only its own compartment
        Bundle everything = search(patient, "/fhir/Patient/" + patientA + "/$everything?_count=1000");
        assertThat(everything.getEntry()).isNotEmpty().noneMatch(e -> e.getResource().getIdElement().getIdPart().equals(obsB));
    }

    @Test
    void pagingLinksServeOnlyTheCallerThatSearched() throws Exception {
        Bundle first = search(TOKENS.get("practitioner"), "/fhir/Observation?_count=1");
        String next = first.getLink("next").getUrl();
        String path = URI.create(next).getRawPath() + "?" + URI.create(next).getRawQuery();
        HttpResponse<String> replayed = vault.send("GET", path, TOKENS.get("patient A"), null);
        assertThat(replayed.statusCode()).isEqualTo(410);
        assertThat(replayed.body()).contains("OperationOutcome").doesNotContain("Observation/");
        assertThat(vault.send("GET", path, TOKENS.get("practitioner in patient A's context"), null).statusCode()).isEqualTo(410);
        assertThat(vault.send("GET", path, TOKENS.get("practitioner"), null).statusCode()).isEqualTo(200);

        Bundle own = search(TOKENS.get("patient A"), "/fhir/Observation?_count=1");
        String ownNext = URI.create(own.getLink("next").getUrl()).getRawPath() + "?" + URI.create(own.getLink("next").getUrl()).getRawQuery();
        assertThat(vault.send("GET", ownNext, TOKENS.get("patient A"), null).statusCode()).isEqualTo(200);
    }

    @Test
    void aTransactionTouchingAForbiddenRecordIsRefusedWholeAndABatchEntryByEntry() throws Exception {
        String token = TOKENS.get("practitioner in patient A's context");
        int before = search(TOKENS.get("practitioner"), "/fhir/Observation").getTotal();
        String entries = "[{\"resource\":" + observation(null, patientA) + ",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
                + "{\"resource\":" + observation(null, patientB) + ",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]";
        HttpResponse<String> tx = vault.send("POST", "/fhir", token, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":" + entries + "}");
        assertThat(tx.statusCode()).isEqualTo(403);
        assertThat(tx.body()).contains("OperationOutcome");
        assertThat(search(TOKENS.get("practitioner"), "/fhir/Observation").getTotal()).isEqualTo(before);

        HttpResponse<String> batch = vault.send("POST", "/fhir", token, "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":" + entries + "}");
        assertThat(batch.statusCode()).isEqualTo(200);
        Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, batch.body());
        assertThat(response.getEntry()).extracting(e -> e.getResponse().getStatus()).containsExactly("201 Created", "403");
        assertThat(search(TOKENS.get("practitioner"), "/fhir/Observation").getTotal()).isEqualTo(before + 1);

        // Deleting another patient's record inside a transaction: refused whole, existence not revealed.
        String deletion = "[{\"request\":{\"method\":\"DELETE\",\"url\":\"Observation/" + obsB + "\"}}]";
        HttpResponse<String> del = vault.send("POST", "/fhir", token, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":" + deletion + "}");
        assertThat(del.statusCode()).isEqualTo(404);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, TOKENS.get("practitioner"), null).statusCode()).isEqualTo(200);
    }

    @Test
    void breakGlassLetsAPractitionerReadOutsideItsScopesWithAReasonReadOnly() throws Exception {
        String token = TOKENS.get("practitioner in patient A's context");
        String reason = "Emergency: unconscious patient admitted to A&E";
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, token, null).statusCode()).isEqualTo(404);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, token, null, "X-Break-Glass-Reason", reason).statusCode())
                .isEqualTo(200);
        assertThat(vault.send("GET", "/fhir/Patient/" + patientB + "/$everything", token, null, "X-Break-Glass-Reason", reason)
                .statusCode()).isEqualTo(200);
        assertThat(vault.send("PUT", "/fhir/Observation/" + obsB, token, observation(obsB, patientB), "X-Break-Glass-Reason", reason)
                .statusCode()).isEqualTo(403);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, TOKENS.get("patient A"), null, "X-Break-Glass-Reason", reason)
                .statusCode()).isEqualTo(403);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, TOKENS.get("auditor"), null, "X-Break-Glass-Reason", reason)
                .statusCode()).isEqualTo(403);
        assertThat(vault.send("GET", "/fhir/Observation/" + obsB, token, null, "X-Break-Glass-Reason", " ").statusCode())
                .isIn(403, 404);
    }

    static Bundle search(String token, String path) throws Exception {
        return searchWith(vault, token, path);
    }

    static Bundle searchWith(VaultHttps vault, String token, String path) throws Exception {
        HttpResponse<String> r = vault.send("GET", path, token, null);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return FHIR.newJsonParser().parseResource(Bundle.class, r.body());
    }
}
