package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * _include, _revinclude (with :iterate) and chains, on Synthea patients and on a few resources
 * written here: on every page, the included resources are exactly those the page's matches
 * refer to (or that refer to them), computed here from the bundles; a chain finds what the
 * search by the referenced ids finds; and neither an include nor a chain brings in, or reveals,
 * a resource of another patient to a caller who may not see it.
 */
class IncludeChainSearchTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static IGenericClient client;
    static final List<Resource> loaded = new ArrayList<>();
    /** The fullUrl of each entry sent (urn:uuid:...) to the Type/id it was given. */
    static final Map<String, String> assigned = new HashMap<>();
    static final Map<String, Resource> byKey = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        vault = new VaultHttps(dir.resolve("vault"));
        client = FhirCrudTest.clientFor(vault);
        SyntheaTransactionTest.load(client, 3, loaded, assigned);
        loaded.forEach(r -> byKey.put(key(r), r));
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    /** Matches and includes of every page of a search: for each page, its matches and what it included. */
    record Page(List<String> matches, Set<String> included, List<String> warnings) {
    }

    static List<Page> pages(IGenericClient as, String url) {
        List<Page> pages = new ArrayList<>();
        Bundle page = as.search().byUrl(url).returnBundle(Bundle.class).execute();
        while (true) {
            List<String> matches = new ArrayList<>();
            Set<String> included = new TreeSet<>();
            List<String> warnings = new ArrayList<>();
            for (Bundle.BundleEntryComponent e : page.getEntry()) {
                String key = e.getResource().fhirType() + "/" + e.getResource().getIdElement().getIdPart();
                switch (e.getSearch().getMode()) {
                    case MATCH -> matches.add(key);
                    case INCLUDE -> included.add(key);
                    case OUTCOME -> ((OperationOutcome) e.getResource()).getIssue().forEach(i -> warnings.add(i.getDiagnostics()));
                    default -> throw new AssertionError("an entry without a search mode: " + key);
                }
            }
            pages.add(new Page(matches, included, warnings));
            if (page.getLink(Bundle.LINK_NEXT) == null) {
                return pages;
            }
            page = as.loadPage().next(page).execute();
        }
    }

    /** Where a reference of a loaded resource points: Type/id. */
    static String target(Reference ref) {
        return assigned.getOrDefault(ref.getReference(), ref.getReference());
    }

    static Patient firstPatient() {
        return loaded.stream().filter(Patient.class::isInstance).map(Patient.class::cast).findFirst().orElseThrow();
    }

    /** The code (system|code) of the patient's first observation: one it surely has. */
    static String someCode(String patient) {
        Observation o = loaded.stream().filter(Observation.class::isInstance).map(Observation.class::cast)
                .filter(x -> target(x.getSubject()).equals("Patient/" + patient)).findFirst().orElseThrow();
        return o.getCode().getCodingFirstRep().getSystem() + "|" + o.getCode().getCodingFirstRep().getCode();
    }

    static String key(Resource r) {
        return r.fhirType() + "/" + r.getIdElement().getIdPart();
    }

    @Test
    void everyPageIncludesExactlyWhatItsMatchesReferTo() {
        String patient = firstPatient().getIdElement().getIdPart();
        List<Page> pages = pages(client, "Encounter?patient=" + patient
                + "&_include=Encounter:patient&_include=Encounter:service-provider&_include=Encounter:practitioner&_count=3");
        assertThat(pages).hasSizeGreaterThan(1);
        Set<String> allMatches = new TreeSet<>();
        for (Page page : pages) {
            Set<String> expected = new TreeSet<>();
            for (String m : page.matches()) {
                Encounter e = (Encounter) byKey.get(m);
                List<Reference> refs = new ArrayList<>(List.of(e.getSubject(), e.getServiceProvider()));
                e.getParticipant().forEach(p -> refs.add(p.getIndividual()));
                refs.stream().filter(Reference::hasReference).forEach(ref -> expected.add(target(ref)));
            }
            page.matches().forEach(expected::remove);
            assertThat(page.included()).as("page %s", page.matches()).isEqualTo(expected);
            assertThat(page.warnings()).isEmpty();
            allMatches.addAll(page.matches());
        }
        Set<String> encounters = new TreeSet<>();
        loaded.stream().filter(Encounter.class::isInstance).map(Encounter.class::cast)
                .filter(e -> target(e.getSubject()).equals("Patient/" + patient)).forEach(e -> encounters.add(key(e)));
        assertThat(allMatches).isEqualTo(encounters);
    }

    @Test
    void aReverseIncludeBringsWhatRefersToThePageAndIterateFollowsFromWhatWasIncluded() {
        Patient p = firstPatient();
        String patient = p.getIdElement().getIdPart();
        List<Page> pages = pages(client, "Patient?_id=" + patient + "&_revinclude=Encounter:patient"
                + "&_include:iterate=Encounter:service-provider");
        assertThat(pages).hasSize(1);
        Set<String> expected = new TreeSet<>();
        loaded.stream().filter(Encounter.class::isInstance).map(Encounter.class::cast)
                .filter(e -> target(e.getSubject()).equals("Patient/" + patient)).forEach(e -> {
                    expected.add(key(e));
                    expected.add(target(e.getServiceProvider()));
                });
        assertThat(pages.get(0).matches()).containsExactly("Patient/" + patient);
        assertThat(pages.get(0).included()).isEqualTo(expected);

        // Observations of one code, their encounters, and the encounters' organisations (iterate).
        List<Page> vitals = pages(client, "Observation?patient=" + patient + "&code=" + someCode(patient)
                + "&_include=Observation:encounter&_include:iterate=Encounter:service-provider");
        Set<String> reached = new TreeSet<>();
        Set<String> included = new TreeSet<>();
        vitals.forEach(page -> {
            included.addAll(page.included());
            page.matches().forEach(m -> {
                Encounter e = (Encounter) byKey.get(target(((Observation) byKey.get(m)).getEncounter()));
                reached.add(key(e));
                reached.add(target(e.getServiceProvider()));
            });
        });
        assertThat(reached).isNotEmpty();
        assertThat(included).isEqualTo(reached);
    }

    @Test
    void medicationAndProvenancePairsOfUsCore() throws Exception {
        String patient = firstPatient().getIdElement().getIdPart();
        put("Medication/med-1", "{\"resourceType\":\"Medication\",\"id\":\"med-1\",\"code\":{\"text\":\"x\"}}");
        put("MedicationRequest/mr-1", "{\"resourceType\":\"MedicationRequest\",\"id\":\"mr-1\",\"status\":\"active\",\"intent\":"
                + "\"order\",\"medicationReference\":{\"reference\":\"Medication/med-1\"},\"subject\":{\"reference\":\"Patient/"
                + patient + "\"}}");
        put("Provenance/prov-1", "{\"resourceType\":\"Provenance\",\"id\":\"prov-1\",\"recorded\":\"2024-01-01T00:00:00Z\","
                + "\"target\":[{\"reference\":\"Patient/" + patient + "\"},{\"reference\":\"MedicationRequest/mr-1\"}],"
                + "\"agent\":[{\"who\":{\"display\":\"x\"}}]}");
        List<Page> pages = pages(client, "MedicationRequest?patient=" + patient + "&status=active"
                + "&_include=MedicationRequest:medication&_revinclude=Provenance:target");
        Set<String> included = new TreeSet<>();
        pages.forEach(page -> included.addAll(page.included()));
        assertThat(pages.stream().flatMap(page -> page.matches().stream())).contains("MedicationRequest/mr-1");
        assertThat(included).contains("Medication/med-1", "Provenance/prov-1");
        assertThat(pages(client, "Provenance?target=MedicationRequest/mr-1").get(0).matches()).containsExactly("Provenance/prov-1");
    }

    @Test
    void aChainFindsWhatTheSearchByTheReferencedIdsFinds() {
        Patient p = firstPatient();
        String patient = p.getIdElement().getIdPart();
        String identifier = p.getIdentifierFirstRep().getSystem() + "|" + p.getIdentifierFirstRep().getValue();
        Function<String, Set<String>> all = url -> {
            Set<String> out = new TreeSet<>();
            pages(client, url).forEach(page -> out.addAll(page.matches()));
            return out;
        };
        String code = someCode(patient);
        Set<String> direct = all.apply("Observation?patient=" + patient + "&code=" + code);
        assertThat(direct).isNotEmpty();
        assertThat(all.apply("Observation?patient.identifier=" + identifier + "&code=" + code)).isEqualTo(direct);
        assertThat(all.apply("Observation?subject:Patient.identifier=" + identifier + "&code=" + code)).isEqualTo(direct);
        String family = p.getNameFirstRep().getFamily();
        Set<String> byName = new TreeSet<>();
        loaded.stream().filter(Patient.class::isInstance).map(Patient.class::cast)
                .filter(x -> x.getName().stream().anyMatch(n -> family.equals(n.getFamily())))
                .forEach(x -> loaded.stream().filter(Encounter.class::isInstance).map(Encounter.class::cast)
                        .filter(e -> target(e.getSubject()).equals(key(x))).forEach(e -> byName.add(key(e))));
        assertThat(all.apply("Encounter?patient.family:exact=" + family)).isEqualTo(byName);
        assertThat(all.apply("Observation?patient.identifier=urn:none|nobody")).isEmpty();
    }

    @Test
    void chainsAndIncludesTheVaultCannotFollowAreRefusedByName() throws Exception {
        String token = TestTokens.ofVault(vault.dataDir).sign("dr-1", "practitioner", "user/*.rs", null);
        Map<String, String> refusals = Map.of(
                "/fhir/Observation?subject.identifier=x", "name one",
                "/fhir/Observation?patient.organization.name=x", "more than one level",
                "/fhir/Observation?performer.name=x", "no reference parameter performer",
                "/fhir/Observation?patient.birthdate:above=2000", "not supported",
                "/fhir/Observation?_include=Observation:code", "no reference parameter code",
                "/fhir/Observation?_include=*", "wildcards",
                "/fhir/Observation?_include=Encounter:patient", "the searched type",
                "/fhir/Observation?_revinclude=Observation:performer", "does not index Observation.performer",
                "/fhir/AuditEvent?_include=AuditEvent:entity", "not supported");
        for (Map.Entry<String, String> r : refusals.entrySet()) {
            HttpResponse<String> response = vault.get(r.getKey(), token);
            assertThat(response.statusCode()).as(r.getKey()).isEqualTo(400);
            assertThat(FHIR.newJsonParser().parseResource(OperationOutcome.class, response.body()).getIssueFirstRep().getDiagnostics())
                    .as(r.getKey()).contains(r.getValue());
        }
        CapabilityStatement cs = client.capabilities().ofType(CapabilityStatement.class).execute();
        Function<String, CapabilityStatement.CapabilityStatementRestResourceComponent> of = type -> cs.getRestFirstRep().getResource()
                .stream().filter(x -> x.getType().equals(type)).findFirst().orElseThrow();
        assertThat(of.apply("MedicationRequest").getSearchInclude().stream().map(x -> x.getValue()))
                .contains("MedicationRequest:medication", "MedicationRequest:patient");
        assertThat(of.apply("Patient").getSearchRevInclude().stream().map(x -> x.getValue()))
                .contains("Encounter:patient", "Observation:patient", "Provenance:target").doesNotContain("Observation:performer");
        assertThat(of.apply("AuditEvent").getSearchInclude()).isEmpty();
    }

    @Test
    void neitherAnIncludeNorAChainReachesAnotherPatientsRecords() throws Exception {
        put("Patient/inc-a", "{\"resourceType\":\"Patient\",\"id\":\"inc-a\",\"identifier\":[{\"system\":\"urn:t\",\"value\":\"a\"}]}");
        put("Patient/inc-b", "{\"resourceType\":\"Patient\",\"id\":\"inc-b\",\"identifier\":[{\"system\":\"urn:t\",\"value\":\"b\"}]}");
        put("Observation/inc-ob", "{\"resourceType\":\"Observation\",\"id\":\"inc-ob\",\"status\":\"final\",\"code\":{\"text\":\"b\"},"
                + "\"subject\":{\"reference\":\"Patient/inc-b\"}}");
        put("Observation/inc-oa", "{\"resourceType\":\"Observation\",\"id\":\"inc-oa\",\"status\":\"final\",\"code\":{\"text\":\"a\"},"
                + "\"subject\":{\"reference\":\"Patient/inc-a\"},\"hasMember\":[{\"reference\":\"Observation/inc-ob\"}]}");
        put("Provenance/inc-pb", "{\"resourceType\":\"Provenance\",\"id\":\"inc-pb\",\"recorded\":\"2024-01-01T00:00:00Z\","
                + "\"target\":[{\"reference\":\"Patient/inc-b\"},{\"reference\":\"Observation/inc-oa\"}],\"agent\":[{\"who\":"
                + "{\"display\":\"x\"}}]}");
        String include = "Observation?_id=inc-oa&_include=Observation:has-member&_include=Observation:patient"
                + "&_revinclude=Provenance:target";
        assertThat(pages(client, include).get(0).included()).containsExactlyInAnyOrder("Observation/inc-ob", "Patient/inc-a",
                "Provenance/inc-pb");

        IGenericClient patientA = FhirCrudTest.clientFor(vault);
        patientA.getInterceptorService().unregisterAllInterceptors();
        patientA.registerInterceptor(new ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor(
                TestTokens.ofVault(vault.dataDir).sign("pat-a", "patient", "patient/*.rs", "inc-a")));
        Page asA = pages(patientA, include).get(0);
        assertThat(asA.matches()).containsExactly("Observation/inc-oa");
        assertThat(asA.included()).containsExactly("Patient/inc-a");
        assertThat(pages(patientA, "Observation?patient.identifier=urn:t|b").get(0).matches()).isEmpty();
        assertThat(pages(patientA, "Observation?patient.identifier=urn:t|a").get(0).matches()).containsExactly("Observation/inc-oa");

        // A token without a type's scope: the type is named in a warning, nothing of it is read.
        IGenericClient observationsOnly = FhirCrudTest.clientFor(vault);
        observationsOnly.getInterceptorService().unregisterAllInterceptors();
        observationsOnly.registerInterceptor(new ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor(
                TestTokens.ofVault(vault.dataDir).sign("dr-2", "practitioner", "user/Observation.rs", null)));
        Page limited = pages(observationsOnly, include).get(0);
        assertThat(limited.included()).containsExactly("Observation/inc-ob");
        assertThat(limited.warnings()).singleElement().asString().contains("Patient").contains("Provenance")
                .contains("does not grant");
    }

    static void put(String path, String json) throws Exception {
        String token = BackupRestoreTest.practitioner(vault.dataDir);
        HttpResponse<String> r = vault.send("PUT", "/fhir/" + path, token, json);
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
    }
}
