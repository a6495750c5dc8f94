package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IntegerType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trail names what was really touched, and cannot be flooded: a transaction's events name
 * the ids the vault assigned, one event per patient; a refused read names the record and its
 * patient, so the patient sees the attempt; repeated identical refusals from one source are one
 * event with a count, and refusals beyond a budget per address become 429s.
 */
class AuditAttributionTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static String practitioner;
    static String auditor;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.audit.refusal-window", "3s",
                "vault.security.refusal-limit.per-second", "2", "vault.security.refusal-limit.burst", "30"));
        tokens = TestTokens.ofVault(vault.dataDir);
        practitioner = tokens.sign("dr-attribution", "practitioner", "user/*.cruds", null);
        auditor = tokens.sign("audit-attribution", "auditor", null, null);
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static List<AuditEvent> events(String query) throws Exception {
        HttpResponse<String> r = vault.get("/fhir/AuditEvent?" + query + "&_count=1000", auditor);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry().stream()
                .map(e -> (AuditEvent) e.getResource()).toList();
    }

    static String subtype(AuditEvent e) {
        return e.getSubtypeFirstRep().getCode();
    }

    static List<String> entities(AuditEvent e) {
        return e.getEntity().stream().map(x -> x.getWhat().getReference()).filter(java.util.Objects::nonNull).toList();
    }

    @Test
    void aTransactionsEventsNameTheAssignedIdsOnePerPatient() throws Exception {
        String bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                + "{\"fullUrl\":\"urn:uuid:11111111-1111-4111-8111-111111111111\",\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
                + "{\"fullUrl\":\"urn:uuid:22222222-2222-4222-8222-222222222222\",\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
                + "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
                + "\"subject\":{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"}},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}";
        HttpResponse<String> r = vault.send("POST", "/fhir", practitioner, bundle);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> locations = FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry().stream()
                .map(e -> e.getResponse().getLocation().replaceAll("/_history/.*", "")).toList();
        String first = locations.get(0);
        String second = locations.get(1);
        String observation = locations.get(2);

        List<AuditEvent> aboutFirst = events("patient=" + first).stream().filter(e -> subtype(e).equals("transaction")).toList();
        assertThat(aboutFirst).singleElement().satisfies(e -> assertThat(entities(e)).contains(first, observation)
                .doesNotContain(second).noneMatch(x -> x.contains("urn:uuid")));
        List<AuditEvent> aboutSecond = events("patient=" + second).stream().filter(e -> subtype(e).equals("transaction")).toList();
        assertThat(aboutSecond).singleElement().satisfies(e -> assertThat(entities(e)).contains(second).doesNotContain(first));
    }

    @Test
    void aRefusedReadNamesTheRecordAndItsPatientSoThePatientSeesTheAttempt() throws Exception {
        String bob = FHIR.newJsonParser().parseResource(vault.send("POST", "/fhir/Patient", practitioner,
                "{\"resourceType\":\"Patient\"}").body()).getIdElement().getIdPart();
        String bobsRecord = FHIR.newJsonParser().parseResource(vault.send("POST", "/fhir/Observation", practitioner,
                "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/"
                        + bob + "\"}}").body()).getIdElement().getIdPart();
        String alice = tokens.sign("alice", "patient", "patient/*.rs", "someone-else");
        assertThat(vault.get("/fhir/Observation/" + bobsRecord, alice).statusCode()).isEqualTo(404);
        assertThat(vault.get("/fhir/Observation?patient=" + bob, alice).statusCode()).isEqualTo(200); // an empty page

        List<AuditEvent> bobsTrail = events("patient=Patient/" + bob).stream()
                .filter(e -> "alice".equals(e.getAgentFirstRep().getWho().getIdentifier().getValue())).toList();
        assertThat(bobsTrail).extracting(AuditAttributionTest::subtype).contains("read", "search-type");
        assertThat(bobsTrail).filteredOn(e -> subtype(e).equals("read")).singleElement().satisfies(e -> {
            assertThat(e.getOutcome().toCode()).isEqualTo("4");
            assertThat(entities(e)).contains("Patient/" + bob, "Observation/" + bobsRecord);
        });
        // Bob reads it in his own trail.
        String bobToken = tokens.sign("bob", "patient", "patient/*.rs", bob);
        Bundle own = FHIR.newJsonParser().parseResource(Bundle.class, vault.get("/fhir/AuditEvent?_count=1000", bobToken).body());
        assertThat(own.getEntry()).anySatisfy(e -> assertThat(((AuditEvent) e.getResource()).getAgentFirstRep().getWho()
                .getIdentifier().getValue()).isEqualTo("alice"));
    }

    @Test
    void theTrailsDateSearchEvaluatesItsPrefixesOrRefusesThem() throws Exception {
        vault.get("/fhir/Patient?_count=1", practitioner);
        String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
        assertThat(events("date=" + today)).isNotEmpty();
        assertThat(events("date=ge2000-01-01&date=lt2000-01-02")).isEmpty();
        assertThat(events("date=gt" + today)).isEmpty();
        assertThat(events("date=sa2000&date=eb2100")).isNotEmpty();
        for (String refused : List.of("date=ne" + today, "date=ap" + today, "date=2000," + today, "date:missing=true")) {
            HttpResponse<String> r = vault.get("/fhir/AuditEvent?" + refused, auditor);
            assertThat(r.statusCode()).as(refused).isEqualTo(400);
            assertThat(r.body()).as(refused).contains("OperationOutcome");
        }
    }

    @Test
    void aFloodOfBadTokensIsHeldBackAndRecordedAsOneEventWithACount() throws Exception {
        long before = events("outcome=4").size();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<HttpResponse<String>>> sent = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            sent.add(pool.submit(() -> vault.get("/fhir/Patient", "not-a-token")));
        }
        int unauthorized = 0;
        int throttled = 0;
        for (Future<HttpResponse<String>> f : sent) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 401) {
                unauthorized++;
            } else {
                assertThat(r.statusCode()).isEqualTo(429);
                assertThat(r.headers().firstValue("Retry-After")).isPresent();
                assertThat(r.body()).contains("OperationOutcome").contains("throttled");
                throttled++;
            }
        }
        pool.shutdown();
        assertThat(unauthorized).as("the burst, then the refill").isBetween(30, 60);
        assertThat(throttled).isEqualTo(200 - unauthorized);
        // Refusals are held back at that address, not the requests that authenticate.
        assertThat(vault.get("/fhir/Patient", "still-not-a-token").statusCode()).isEqualTo(429);
        assertThat(vault.get("/fhir/Patient?_count=1", practitioner).statusCode()).isEqualTo(200);
        Thread.sleep(4_500); // the 3 s windows close and their counts are recorded
        List<AuditEvent> refusals = events("outcome=4");
        assertThat(refusals.size() - before).as("200 refusals, two kinds (401, 429), each a first event and a count")
                .isBetween(2L, 6L);
        int counted = refusals.stream().mapToInt(e -> 1 + (e.getExtensionByUrl("urn:hds-vault:repeated-refusals") == null ? 0
                : ((IntegerType) e.getExtensionByUrl("urn:hds-vault:repeated-refusals").getValue()).getValue())).sum();
        assertThat(counted).as("every refusal is accounted for").isGreaterThanOrEqualTo(200);
        assertThat(refusals).filteredOn(e -> e.hasPeriod()).isNotEmpty();
    }
}
