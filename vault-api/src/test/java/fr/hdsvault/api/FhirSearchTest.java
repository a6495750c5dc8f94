package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.gclient.TokenClientParam;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/** Search over real HTTPS: blind tokens for identifiers, codes and references, dates, sorting, stable paging. */
class FhirSearchTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static IGenericClient client;
    static String alice;
    static String bob;
    static String aliceHeartRate;
    static Date beforeBob;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"));
        client = FhirCrudTest.clientFor(vault);
        alice = create(patient("Alice", "1840575000001"));
        aliceHeartRate = create(observation(alice, "8867-4", "heart rate"));
        create(observation(alice, "8310-5", "body temperature"));
        Thread.sleep(20);
        beforeBob = new Date();
        Thread.sleep(20);
        bob = create(patient("Bob", "1840575000002"));
        create(observation(bob, "8867-4", "heart rate"));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static Patient patient(String family, String nir) {
        Patient p = new Patient();
        p.addName().setFamily(family);
        p.addIdentifier().setSystem("urn:oid:1.2.250.1.213.1.4.8").setValue(nir);
        return p;
    }

    static Observation observation(String patientId, String loinc, String text) {
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().setText(text).addCoding().setSystem("http://loinc.org").setCode(loinc);
        o.setSubject(new Reference("Patient/" + patientId));
        return o;
    }

    static String create(org.hl7.fhir.r4.model.Resource r) {
        return client.create().resource(r).execute().getId().getIdPart();
    }

    static List<String> ids(Bundle b) {
        return b.getEntry().stream().map(e -> e.getResource().getIdElement().getIdPart()).toList();
    }

    Bundle search(String url) {
        return client.search().byUrl(url).returnBundle(Bundle.class).execute();
    }

    @Test
    void byPatientSubjectAndCode() {
        assertThat(search("Observation?patient=" + alice).getEntry()).hasSize(2);
        assertThat(search("Observation?patient=Patient/" + bob).getEntry()).hasSize(1);
        assertThat(search("Observation?subject=Patient/" + alice).getTotal()).isEqualTo(2);
        assertThat(search("Observation?code=http://loinc.org|8867-4").getEntry()).hasSize(2);
        assertThat(ids(search("Observation?code=8867-4&patient=" + alice))).containsExactly(aliceHeartRate);
        assertThat(search("Observation?code=http://snomed.info/sct|8867-4").getEntry()).isEmpty();
        assertThat(search("Observation?code=8867-4,8310-5&patient=" + alice).getEntry()).hasSize(2);
    }

    @Test
    void byIdentifierWithAndWithoutSystemAndById() {
        assertThat(ids(search("Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|1840575000001"))).containsExactly(alice);
        assertThat(ids(search("Patient?identifier=1840575000002"))).containsExactly(bob);
        assertThat(search("Patient?identifier=urn:oid:9.9|1840575000001").getEntry()).isEmpty();
        assertThat(ids(search("Patient?_id=" + alice + "," + bob))).containsExactlyInAnyOrder(alice, bob);
        assertThat(search("Patient?_id=" + alice + "&_id=" + bob).getEntry()).isEmpty();
    }

    @Test
    void byLastUpdatedAndSortedEitherWay() {
        // Scoped to this class's fixed patients: other tests of the class add resources in any order.
        String since = new org.hl7.fhir.r4.model.InstantType(beforeBob).getValueAsString();
        assertThat(search("Observation?_lastUpdated=gt" + since + "&patient=" + bob).getEntry()).hasSize(1);
        assertThat(search("Observation?_lastUpdated=gt" + since + "&patient=" + alice).getEntry()).isEmpty();
        assertThat(search("Observation?_lastUpdated=le" + since + "&patient=" + alice).getEntry()).hasSize(2);
        assertThat(ids(search("Patient?_lastUpdated=lt" + since))).containsExactly(alice);
        List<String> oldestFirst = ids(search("Observation?patient=" + alice + "&_sort=_lastUpdated"));
        List<String> newestFirst = ids(search("Observation?patient=" + alice + "&_sort=-_lastUpdated"));
        List<String> reversed = new java.util.ArrayList<>(oldestFirst);
        java.util.Collections.reverse(reversed);
        assertThat(oldestFirst).hasSize(2).startsWith(aliceHeartRate);
        assertThat(newestFirst).containsExactlyElementsOf(reversed);
    }

    @Test
    void pagesStayTheSameUnderConcurrentWrites() {
        String patient = create(patient("Paging", "1840575000099"));
        for (int i = 0; i < 5; i++) {
            create(observation(patient, "29463-7", "weight " + i));
        }
        Bundle first = search("Observation?patient=" + patient + "&_count=2");
        assertThat(first.getTotal()).isEqualTo(5);
        assertThat(first.getEntry()).hasSize(2);
        create(observation(patient, "29463-7", "written between pages"));
        Bundle second = client.loadPage().next(first).execute();
        Bundle third = client.loadPage().next(second).execute();
        assertThat(second.getEntry()).hasSize(2);
        assertThat(third.getEntry()).hasSize(1);
        assertThat(third.getLink(Bundle.LINK_NEXT)).isNull();
        Bundle back = client.loadPage().previous(second).execute();
        assertThat(ids(back)).isEqualTo(ids(first));
        assertThat(search("Observation?patient=" + patient).getTotal()).isEqualTo(6);
    }

    @Test
    void unknownOrUnsupportedParametersAre400NeverIgnored() throws Exception {
        String token = fr.hdsvault.api.security.TokenIssuer.forHome(fr.hdsvault.api.home.VaultHome.prepare(dir.resolve("vault")))
                .issue(new fr.hdsvault.api.security.TokenIssuer.Grant("dr", "practitioner", null, null, Duration.ofMinutes(5)));
        for (String bad : new String[] {"/fhir/Patient?name:contains=Alice", "/fhir/Patient?_sort=name",
                "/fhir/Observation?subject=" + alice, "/fhir/Patient?identifier:text=x", "/fhir/Observation?patient.gender.x=x"}) {
            HttpResponse<String> r = vault.get(bad, token);
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            assertThat(r.body()).as(bad).contains("OperationOutcome");
        }
        assertThatThrownBy(() -> client.search().forResource(Patient.class)
                .where(new TokenClientParam("active").exactly().code("true")).returnBundle(Bundle.class).execute())
                .isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void everythingReturnsThePatientAndItsCompartmentOnly() {
        Bundle everything = client.operation().onInstance(new org.hl7.fhir.r4.model.IdType("Patient", alice))
                .named("$everything").withNoParameters(org.hl7.fhir.r4.model.Parameters.class).returnResourceType(Bundle.class)
                .execute();
        assertThat(everything.getEntry().get(0).getResource().fhirType()).isEqualTo("Patient");
        assertThat(everything.getEntry()).hasSize(3);
        assertThat(everything.getEntry()).allMatch(e -> e.getResource().getIdElement().getIdPart().equals(alice)
                || ((Observation) e.getResource()).getSubject().getReference().equals("Patient/" + alice));
    }

    @Test
    void typeHistoryListsVersionsNewestFirst() {
        Bundle history = client.history().onType(Patient.class).returnBundle(Bundle.class).execute();
        assertThat(history.getEntry().size()).isGreaterThanOrEqualTo(2);
        List<Date> times = history.getEntry().stream().map(e -> e.getResource().getMeta().getLastUpdated()).toList();
        for (int i = 1; i < times.size(); i++) {
            assertThat(times.get(i)).isBeforeOrEqualTo(times.get(i - 1));
        }
    }

    @Test
    void conditionalCreateDoesNotDuplicate() {
        Patient again = patient("Alice", "1840575000001");
        ca.uhn.fhir.rest.api.MethodOutcome outcome = client.create().resource(again)
                .conditionalByUrl("Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|1840575000001").execute();
        assertThat(outcome.getCreated()).isNotEqualTo(Boolean.TRUE);
        assertThat(outcome.getId().getIdPart()).isEqualTo(alice);
        ca.uhn.fhir.rest.api.MethodOutcome fresh = client.create().resource(patient("Carol", "1840575000003"))
                .conditionalByUrl("Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|1840575000003").execute();
        assertThat(fresh.getCreated()).isTrue();
    }

    @Test
    void aReferenceIsFoundByTheIdentifierItCarriesAndNeverNamesAPatientByIdentifierAlone() {
        // Scoped to a patient of its own: other tests count Alice's and Bob's observations.
        String carol = create(patient("Carol", "2840575000003"));
        Observation carried = observation(carol, "29463-7", "body weight");
        carried.getSubject().setIdentifier(new org.hl7.fhir.r4.model.Identifier().setSystem("urn:oid:1.2.250.1.213.1.4.8")
                .setValue("2840575000003"));
        String weight = create(carried);
        assertThat(ids(search("Observation?patient:identifier=urn:oid:1.2.250.1.213.1.4.8|2840575000003"))).containsExactly(weight);
        assertThat(ids(search("Observation?subject:identifier=2840575000003"))).containsExactly(weight);
        assertThat(ids(search("Observation?subject:identifier=2840575000003&code=29463-7"))).containsExactly(weight);
        assertThat(search("Observation?patient:identifier=urn:oid:9.9|2840575000003").getEntry()).isEmpty();
        assertThat(search("Observation?patient:identifier=1840575000002").getEntry()).as("Bob's references carry none").isEmpty();
        // A parameter that is not a reference has no :identifier.
        assertThatThrownBy(() -> search("Observation?code:identifier=2840575000003")).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining(":identifier");

        // Named by identifier only, the record would have no patient compartment: readable by every patient token. Refused, not stored.
        Observation logical = observation(carol, "29463-7", "body weight");
        logical.setSubject(new Reference().setIdentifier(new org.hl7.fhir.r4.model.Identifier().setSystem("urn:oid:1.2.250.1.213.1.4.8")
                .setValue("2840575000003")));
        assertThatThrownBy(() -> create(logical)).isInstanceOf(ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException.class)
                .hasMessageContaining("Observation.subject names a patient by identifier only").hasMessageNotContaining("2840575000003");
        assertThat(ids(search("Observation?subject:identifier=2840575000003"))).containsExactly(weight);
        // Another kind of subject, named by identifier with its type, is no patient's: it is stored.
        Observation device = observation(carol, "29463-7", "body weight");
        device.setSubject(new Reference().setType("Device").setIdentifier(new org.hl7.fhir.r4.model.Identifier().setValue("scale-1")));
        String onDevice = create(device);
        assertThat(ids(search("Observation?subject:identifier=scale-1"))).containsExactly(onDevice);
    }

    @Test
    void theCapabilityStatementListsWhatEachTypeReallySupports() {
        org.hl7.fhir.r4.model.CapabilityStatement cs = client.capabilities()
                .ofType(org.hl7.fhir.r4.model.CapabilityStatement.class).execute();
        java.util.function.Function<String, List<String>> params = type -> cs.getRestFirstRep().getResource().stream()
                .filter(r -> r.getType().equals(type)).findFirst().orElseThrow()
                .getSearchParam().stream().map(p -> p.getName()).toList();
        assertThat(params.apply("Patient")).contains("_id", "_lastUpdated", "identifier").doesNotContain("code", "subject", "patient");
        assertThat(params.apply("Observation")).contains("code", "subject", "patient", "identifier");
        // R4 has no field for modifiers: each parameter's documentation names those it evaluates.
        java.util.function.BiFunction<String, String, String> doc = (type, name) -> cs.getRestFirstRep().getResource().stream()
                .filter(r -> r.getType().equals(type)).findFirst().orElseThrow().getSearchParam().stream()
                .filter(p -> p.getName().equals(name)).findFirst().orElseThrow().getDocumentation();
        assertThat(doc.apply("Observation", "patient")).isEqualTo("Modifiers: :missing, :identifier, :Patient.");
        assertThat(doc.apply("Observation", "code")).isEqualTo("Modifiers: :missing, :not.");
        assertThat(doc.apply("Patient", "name")).isEqualTo("Modifiers: :exact, :missing.");
        assertThat(doc.apply("Patient", "_lastUpdated")).isEqualTo("No modifier.");
        assertThatThrownBy(() -> search("Patient?code=8867-4")).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("not supported for Patient");
        // What _include and _revinclude follow is listed per type (IncludeChainSearchTest follows them).
        assertThat(cs.getRestFirstRep().getResource()).filteredOn(r -> r.getType().equals("Observation")).singleElement()
                .satisfies(r -> assertThat(r.getSearchInclude().stream().map(i -> i.getValue())).contains("Observation:patient"));
        assertThat(cs.getSoftware().getName()).isEqualTo("hds-vault");
    }

    @Test
    void theIndexHoldsOnlyBlindTokens() {
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        String rows = jdbc.queryForList("select * from search_token").toString();
        // Resource ids (opaque, server-assigned) key the rows; values appear only as HMACs.
        assertThat(rows).doesNotContain("1840575000001").doesNotContain("8867-4").doesNotContain("loinc")
                .doesNotContain("Patient/" + alice);
        assertThat(jdbc.queryForObject("select count(*) from search_token where param = 'identifier'", Integer.class))
                .isGreaterThanOrEqualTo(4);
    }
}
