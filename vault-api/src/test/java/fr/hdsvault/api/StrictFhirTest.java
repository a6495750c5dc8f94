package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * FHIR as R4 defines it, or a refusal: every search parameter, modifier and prefix is evaluated
 * correctly or refused with 400 (dropped with {@code Prefer: handling=lenient}); history at every
 * level includes deletions with their request and response and honours {@code _since} and
 * {@code _at}; bundles carry {@code search.mode}; transactions resolve conditional references and
 * refuse duplicate fullUrls; conditional update and delete are refused; {@code _count} is capped.
 */
class StrictFhirTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final int MAX_PAGE = 4;

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String token;
    static String alice;
    static String bob;
    static String aliceHeartRate;
    static String unattached;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.fhir.max-page-size", MAX_PAGE));
        token = TestTokens.ofVault(vault.dataDir).sign("dr-strict", "practitioner", "user/*.cruds", null);
        alice = create("Patient", patient("Alice", "strict-1"));
        bob = create("Patient", patient("Bob", "strict-2"));
        aliceHeartRate = create("Observation", observation("Patient/" + alice, "8867-4"));
        create("Observation", observation("Patient/" + alice, "8310-5"));
        create("Observation", observation("Patient/" + bob, "8867-4"));
        unattached = create("Observation", observation(null, "8867-4"));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static String patient(String family, String identifier) {
        return "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:strict\",\"value\":\"" + identifier + "\"}],"
                + "\"name\":[{\"family\":\"" + family + "\"}]}";
    }

    static String observation(String subject, String loinc) {
        return "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
                + "\"code\":\"" + loinc + "\"}]}" + (subject == null ? "" : ",\"subject\":{\"reference\":\"" + subject + "\"}") + "}";
    }

    static String create(String type, String body) throws Exception {
        HttpResponse<String> r = vault.send("POST", "/fhir/" + type, token, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return FHIR.newJsonParser().parseResource(r.body()).getIdElement().getIdPart();
    }

    static Bundle bundle(String path, String... headers) throws Exception {
        HttpResponse<String> r = vault.send("GET", path, token, null, headers);
        assertThat(r.statusCode()).as("%s: %s", path, r.body()).isEqualTo(200);
        return FHIR.newJsonParser().parseResource(Bundle.class, r.body());
    }

    static List<String> ids(Bundle b) {
        return b.getEntry().stream().filter(e -> e.getResource() != null).map(e -> e.getResource().getIdElement().getIdPart()).toList();
    }

    /** Asserts a 4xx with an OperationOutcome, and returns its diagnostics. */
    static String refused(int status, String method, String path, String body, String... headers) throws Exception {
        HttpResponse<String> r = vault.send(method, path, token, body, headers);
        assertThat(r.statusCode()).as("%s %s: %s", method, path, r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("application/fhir+json");
        OperationOutcome outcome = FHIR.newJsonParser().parseResource(OperationOutcome.class, r.body());
        return outcome.getIssueFirstRep().getDiagnostics();
    }

    static long storedVersions() {
        return vault.context.getBean(JdbcTemplate.class).queryForObject("select count(*) from resource_version", Long.class);
    }

    @Test
    void parametersTheVaultDoesNotEvaluateAreRefusedNeverIgnored() throws Exception {
        for (String query : List.of("_tag:text=x", "_profile:below=http://x", "_has:Observation:patient:code=1", "_text=x",
                "_content=x", "_list=x", "_filter=name%20eq%20x", "_source=x", "_language=fr", "_lastUpdated:missing=true",
                "_contained=true", "_include=Observation:patient", "_include=*", "_revinclude=Observation:performer", "name:contains=x", "_query=x",
                "_type=Patient", "general-practitioner.name=x", "organization.partof.name=x")) {
            // _query (a named query) is refused by HAPI itself, which finds no method of that name.
            assertThat(refused(400, "GET", "/fhir/Patient?" + query, null)).as(query)
                    .containsAnyOf("not supported", "does not know how to handle");
        }
        assertThat(refused(400, "GET", "/fhir/Patient/" + alice + "?_text=x", null)).contains("not supported");
        assertThat(refused(400, "GET", "/fhir/Patient/" + alice + "/_history?_list=x", null)).contains("not supported");
    }

    @Test
    void lenientHandlingDropsUnknownParametersAndTheSelfLinkShowsOnlyWhatWasApplied() throws Exception {
        Bundle b = bundle("/fhir/Patient?_text=x&_id=" + alice, "Prefer", "handling=lenient");
        assertThat(ids(b)).containsExactly(alice);
        String self = b.getLink(Bundle.LINK_SELF).getUrl();
        assertThat(self).contains("_id=" + alice).doesNotContain("_text");
        Bundle named = bundle("/fhir/Patient?address=x&_id=" + alice, "Prefer", "handling=lenient");
        assertThat(ids(named)).containsExactly(alice);
        assertThat(named.getLink(Bundle.LINK_SELF).getUrl()).doesNotContain("address");
        // Lenient handling forgives unknown parameters only, never a known one evaluated wrongly.
        refused(400, "GET", "/fhir/Patient?_id:text=x", null, "Prefer", "handling=lenient");
    }

    @Test
    void modifiersAreEvaluatedOrRefused() throws Exception {
        assertThat(ids(bundle("/fhir/Patient?_id:not=" + alice + "&_count=" + MAX_PAGE))).contains(bob).doesNotContain(alice);
        String few = "&code=8867-4,8310-5";
        assertThat(ids(bundle("/fhir/Observation?patient:missing=true" + few))).containsExactly(unattached);
        assertThat(bundle("/fhir/Observation?patient:missing=false" + few).getTotal()).isEqualTo(3);
        assertThat(bundle("/fhir/Observation?subject:missing=true" + few).getTotal()).isEqualTo(1);
        assertThat(bundle("/fhir/Observation?code:not=8867-4&_id=" + aliceHeartRate).getTotal()).isZero();
        assertThat(bundle("/fhir/Observation?code:not=8310-5&patient=" + alice).getTotal()).isEqualTo(1);
        assertThat(bundle("/fhir/Observation?code:missing=true&patient=" + alice).getTotal()).isZero();
        assertThat(bundle("/fhir/Observation?subject:Patient=" + alice).getTotal()).isEqualTo(2);
        assertThat(bundle("/fhir/Observation?patient=Patient/" + alice + "&code:not=8310-5").getTotal()).isEqualTo(1);
        // :identifier is the identifier a reference carries (none here), not the referenced Patient's; only references have it.
        assertThat(bundle("/fhir/Observation?subject:identifier=urn:strict%7Cstrict-1").getTotal()).isZero();
        assertThat(refused(400, "GET", "/fhir/Observation?code:identifier=urn:strict%7Cstrict-1", null)).contains(":identifier");
        assertThat(refused(400, "GET", "/fhir/Observation?code:text=heart", null)).contains(":text");
        assertThat(refused(400, "GET", "/fhir/Observation?code:below=8867", null)).contains(":below");
        assertThat(refused(400, "GET", "/fhir/Observation?patient:missing=maybe", null)).contains("true or false");
        assertThat(refused(400, "GET", "/fhir/Observation?patient:Practitioner=x", null)).contains("not supported");
        assertThat(refused(400, "GET", "/fhir/Observation?subject=" + alice, null)).contains("Type/id");
    }

    @Test
    void lastUpdatedEvaluatesEveryPrefixAtTheValuesPrecision() throws Exception {
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        String q = "/fhir/Patient?_id=" + alice + "," + bob + "&_lastUpdated=";
        assertThat(bundle(q + today).getTotal()).isEqualTo(2);
        assertThat(bundle(q + "eq" + today).getTotal()).isEqualTo(2);
        assertThat(bundle(q + "ne" + today).getTotal()).isZero();
        assertThat(bundle(q + "ge" + today).getTotal()).isEqualTo(2);
        assertThat(bundle(q + "le" + today).getTotal()).isEqualTo(2);
        assertThat(bundle(q + "gt" + today).getTotal()).isZero();
        assertThat(bundle(q + "sa" + today).getTotal()).isZero();
        assertThat(bundle(q + "lt" + today).getTotal()).isZero();
        assertThat(bundle(q + "eb" + today).getTotal()).isZero();
        assertThat(bundle(q + "ne2000-01-01").getTotal()).isEqualTo(2);
        assertThat(bundle(q + "gt2000&_lastUpdated=lt2000-02").getTotal()).isZero();
        assertThat(bundle(q + "lt2000," + today).getTotal()).isEqualTo(2);
        assertThat(refused(400, "GET", q + "ap" + today, null)).contains("ap");
        assertThat(refused(400, "GET", q + "xx" + today, null)).contains("prefix");
    }

    @Test
    void historyHasEveryVersionWithItsRequestDeletionsIncludedAndHonoursSinceAndAt() throws Exception {
        String id = create("Patient", patient("History", "strict-h"));
        Instant afterV1 = Instant.now();
        Thread.sleep(20);
        String v2 = patient("History-2", "strict-h").replace("{\"resourceType\":\"Patient\",", "{\"resourceType\":\"Patient\",\"id\":\""
                + id + "\",");
        assertThat(vault.send("PUT", "/fhir/Patient/" + id, token, v2).statusCode()).isEqualTo(200);
        Thread.sleep(20);
        Instant whileV2 = Instant.now();
        Thread.sleep(20);
        assertThat(vault.send("PUT", "/fhir/Patient/" + id, token, v2.replace("History-2", "History-3")).statusCode()).isEqualTo(200);
        assertThat(vault.send("DELETE", "/fhir/Patient/" + id, token, null).statusCode()).isLessThan(300);

        Bundle history = bundle("/fhir/Patient/" + id + "/_history");
        assertThat(history.getType()).isEqualTo(Bundle.BundleType.HISTORY);
        assertThat(history.getTotal()).isEqualTo(4);
        List<Bundle.BundleEntryComponent> e = history.getEntry();
        assertThat(e).extracting(x -> x.getRequest().getMethod()).containsExactly(Bundle.HTTPVerb.DELETE, Bundle.HTTPVerb.PUT,
                Bundle.HTTPVerb.PUT, Bundle.HTTPVerb.POST);
        assertThat(e).extracting(x -> x.getRequest().getUrl()).containsExactly("Patient/" + id, "Patient/" + id, "Patient/" + id,
                "Patient");
        assertThat(e).extracting(x -> x.getResponse().getStatus()).containsExactly("204 No Content", "200 OK", "200 OK", "201 Created");
        assertThat(e).extracting(x -> x.getResponse().getEtag()).containsExactly("W/\"4\"", "W/\"3\"", "W/\"2\"", "W/\"1\"");
        assertThat(e.get(0).getResource()).as("a deletion has no content").isNull();
        assertThat(e).allSatisfy(x -> assertThat(x.getResponse().getLastModified()).isNotNull());

        assertThat(bundle("/fhir/Patient/" + id + "/_history?_since=" + afterV1).getEntry()).extracting(x -> x.getResponse().getEtag())
                .containsExactly("W/\"4\"", "W/\"3\"", "W/\"2\"");
        assertThat(bundle("/fhir/Patient/" + id + "/_history?_at=" + whileV2).getEntry()).extracting(x -> x.getResponse().getEtag())
                .containsExactly("W/\"2\"");
        assertThat(bundle("/fhir/Patient/_history?_at=2000-01-01").getTotal()).isZero();
        assertThat(bundle("/fhir/Patient/_history?_since=" + afterV1 + "&_count=" + MAX_PAGE).getTotal()).isEqualTo(3);
        Bundle type = bundle("/fhir/Patient/_history?_since=" + afterV1);
        assertThat(type.getEntry().get(0).getRequest().getMethod()).isEqualTo(Bundle.HTTPVerb.DELETE);
        assertThat(refused(400, "GET", "/fhir/Patient/" + id + "/_history?_at=gt2000-01-01", null)).contains("_at");
    }

    /** HAPI links a history's pages by _offset: every next link the vault gives must be one it accepts, to the last page. */
    @Test
    void historyPagesFollowTheirNextLinksToTheEnd() throws Exception {
        String id = create("Patient", patient("Paged", "strict-paged"));
        String body = patient("Paged", "strict-paged").replace("{\"resourceType\":\"Patient\",", "{\"resourceType\":\"Patient\",\"id\":\""
                + id + "\",");
        for (int v = 2; v <= 2 * MAX_PAGE + 1; v++) {
            assertThat(vault.send("PUT", "/fhir/Patient/" + id, token, body.replace("Paged", "Paged-" + v)).statusCode()).isEqualTo(200);
        }
        for (String first : List.of("/fhir/Patient/" + id + "/_history", "/fhir/Patient/_history?_since=" + Instant.now().minusSeconds(60))) {
            List<String> etags = new java.util.ArrayList<>();
            String next = first;
            while (next != null) {
                Bundle page = bundle(next);
                page.getEntry().forEach(e -> etags.add(page.getType() + e.getResponse().getEtag() + e.getFullUrl()));
                next = page.getLink(Bundle.LINK_NEXT) == null ? null
                        : page.getLink(Bundle.LINK_NEXT).getUrl().replaceFirst("^https://[^/]+", "");
            }
            assertThat(etags).as(first).hasSizeGreaterThanOrEqualTo(2 * MAX_PAGE + 1).doesNotHaveDuplicates();
        }
        assertThat(refused(400, "GET", "/fhir/Patient/_history?_offset=-1", null)).contains("_offset");
        assertThat(refused(400, "GET", "/fhir/Patient?_offset=2", null)).contains("_offset");
    }

    @Test
    void searchsetsAndEverythingMarkEachEntrysSearchMode() throws Exception {
        Bundle search = bundle("/fhir/Observation?patient=" + alice);
        assertThat(search.getEntry()).isNotEmpty().allSatisfy(x -> assertThat(x.getSearch().getMode())
                .isEqualTo(Bundle.SearchEntryMode.MATCH));
        Bundle everything = bundle("/fhir/Patient/" + alice + "/$everything");
        assertThat(everything.getType()).isEqualTo(Bundle.BundleType.SEARCHSET);
        assertThat(everything.getTotal()).isEqualTo(3);
        assertThat(everything.getEntry()).isNotEmpty().allSatisfy(x -> assertThat(x.getSearch().getMode())
                .isEqualTo(Bundle.SearchEntryMode.MATCH));
    }

    static String transaction(String... entries) {
        return "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + String.join(",", entries) + "]}";
    }

    static String post(String fullUrl, String resource) {
        return "{" + (fullUrl == null ? "" : "\"fullUrl\":\"" + fullUrl + "\",") + "\"resource\":" + resource
                + ",\"request\":{\"method\":\"POST\",\"url\":\"" + (resource.contains("\"Patient\"") ? "Patient" : "Observation") + "\"}}";
    }

    @Test
    void transactionsResolveConditionalReferencesIntoThePatientsCompartment() throws Exception {
        String carol = create("Patient", patient("Carol", "strict-carol"));
        HttpResponse<String> r = vault.send("POST", "/fhir", token,
                transaction(post(null, observation("Patient?identifier=urn:strict|strict-carol", "8867-4"))));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(bundle("/fhir/Observation?patient=" + carol).getTotal()).isEqualTo(1);
        Bundle everything = bundle("/fhir/Patient/" + carol + "/$everything");
        assertThat(everything.getTotal()).isEqualTo(2);

        long before = storedVersions();
        assertThat(refused(412, "POST", "/fhir", transaction(post(null, observation("Patient?identifier=urn:strict|nobody", "1")))))
                .contains("matches 0");
        create("Patient", patient("Twin", "strict-twin"));
        create("Patient", patient("Twin", "strict-twin"));
        long withTwins = storedVersions();
        assertThat(refused(412, "POST", "/fhir", transaction(post(null, observation("Patient?identifier=urn:strict|strict-twin", "1")))))
                .contains("matches 2");
        assertThat(refused(400, "POST", "/fhir", transaction(post(null, observation("Patient?name=Twin", "1")))))
                .contains("identifier and _id");
        assertThat(refused(400, "POST", "/fhir", transaction(post("urn:uuid:6e0c1a1e-0000-4000-8000-000000000001",
                patient("Dup", "dup-1")), post("urn:uuid:6e0c1a1e-0000-4000-8000-000000000001", patient("Dup", "dup-2")))))
                .contains("same fullUrl");
        assertThat(storedVersions()).isEqualTo(withTwins).isEqualTo(before + 2);
    }

    @Test
    void conditionalWritesAndMalformedConditionsAreRefusedNotFailed() throws Exception {
        long before = storedVersions();
        assertThat(refused(405, "DELETE", "/fhir/Patient", null)).contains("Conditional delete");
        assertThat(refused(405, "DELETE", "/fhir/Patient?_id=" + alice, null)).contains("Conditional delete");
        assertThat(refused(405, "PUT", "/fhir/Patient?identifier=urn:strict%7Cstrict-1", patient("Alice", "strict-1")))
                .contains("Conditional update");
        assertThat(refused(400, "POST", "/fhir/Patient", patient("X", "x"), "If-None-Exist", "identifier=%zz"))
                .contains("If-None-Exist");
        assertThat(storedVersions()).isEqualTo(before);
        // An invalid HTTP date in a condition is ignored, as RFC 9110 requires: the read is served.
        HttpResponse<String> read = vault.send("GET", "/fhir/Patient/" + alice, token, null, "If-Modified-Since", "not a date");
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    }

    @Test
    void countIsCappedAndTheCapShowsInTheLinks() throws Exception {
        for (int i = 0; i < MAX_PAGE + 2; i++) {
            create("Observation", observation(null, "cap-test"));
        }
        Bundle page = bundle("/fhir/Observation?code=cap-test&_count=100000000");
        assertThat(page.getTotal()).isEqualTo(MAX_PAGE + 2);
        assertThat(page.getEntry()).hasSize(MAX_PAGE);
        assertThat(page.getLink(Bundle.LINK_SELF).getUrl()).contains("_count=" + MAX_PAGE).doesNotContain("100000000");
        assertThat(page.getLink(Bundle.LINK_NEXT)).isNotNull();
        assertThat(refused(400, "GET", "/fhir/Observation?_count=-1", null)).contains("_count");
        assertThat(refused(400, "GET", "/fhir/Observation?_count=" + URLEncoder.encode("1e9", StandardCharsets.UTF_8), null))
                .contains("_count");
        HttpResponse<String> metadata = vault.send("GET", "/fhir/metadata", null, null);
        assertThat(metadata.body()).contains("at most " + MAX_PAGE + " entries");
    }
}
