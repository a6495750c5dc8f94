package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CarePlan;
import org.hl7.fhir.r4.model.CareTeam;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.Immunization;
import org.hl7.fhir.r4.model.MedicationRequest;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The token searches US Core names (gender, category, status, clinical-status, class, type, intent...),
 * on Synthea patients: for each, the ids the vault returns, page after page, are those computed
 * here from the bundles through the FHIR model (not through the vault's own paths); the index holds
 * none of the values in clear; the CapabilityStatement lists each type's parameters.
 */
class UsCoreSearchTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static IGenericClient client;
    /** What was loaded: each resource as sent, under the id the vault gave it. */
    static final List<Resource> loaded = new ArrayList<>();
    /** The fullUrl of each entry sent (urn:uuid:...) to the Type/id it was given. */
    static final Map<String, String> assigned = new java.util.HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        vault = new VaultHttps(dir.resolve("vault"));
        client = FhirCrudTest.clientFor(vault);
        SyntheaTransactionTest.load(client, 5, loaded, assigned);
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    /** Every id a search returns, following its pages. */
    static Set<String> search(String url) {
        return new TreeSet<>(ordered(url));
    }

    /** The ids of a search in the order of its pages. */
    static List<String> ordered(String url) {
        List<String> ids = new ArrayList<>();
        Bundle page = client.search().byUrl(url).returnBundle(Bundle.class).execute();
        while (true) {
            page.getEntry().forEach(e -> ids.add(e.getResource().getIdElement().getIdPart()));
            if (page.getLink(Bundle.LINK_NEXT) == null) {
                return ids;
            }
            page = client.loadPage().next(page).execute();
        }
    }

    @SuppressWarnings("unchecked")
    static <T extends Resource> Set<String> expected(Class<T> type, Predicate<T> match) {
        Set<String> ids = new TreeSet<>();
        loaded.stream().filter(type::isInstance).map(r -> (T) r).filter(match).forEach(r -> ids.add(r.getIdElement().getIdPart()));
        return ids;
    }

    static boolean refersTo(org.hl7.fhir.r4.model.Reference reference, String patientId) {
        return ("Patient/" + patientId).equals(assigned.getOrDefault(reference.getReference(), reference.getReference()));
    }

    static boolean has(CodeableConcept cc, String system, String code) {
        return cc.getCoding().stream().anyMatch(c -> code.equals(c.getCode()) && (system == null || system.equals(c.getSystem())));
    }

    static boolean hasAny(List<CodeableConcept> ccs, String system, String code) {
        return ccs.stream().anyMatch(cc -> has(cc, system, code));
    }

    @Test
    void everyUsCoreTokenSearchReturnsExactlyTheResourcesThatMatch() {
        String patient = loaded.stream().filter(r -> r instanceof Patient).findFirst().orElseThrow().getIdElement().getIdPart();
        Encounter firstEncounter = loaded.stream().filter(r -> r instanceof Encounter).map(r -> (Encounter) r).findFirst().orElseThrow();
        String encounterType = firstEncounter.getTypeFirstRep().getCodingFirstRep().getCode();
        String encounterTypeSystem = firstEncounter.getTypeFirstRep().getCodingFirstRep().getSystem();
        CarePlan firstPlan = loaded.stream().filter(r -> r instanceof CarePlan).map(r -> (CarePlan) r).findFirst().orElseThrow();
        String planCategory = firstPlan.getCategory().get(firstPlan.getCategory().size() - 1).getCodingFirstRep().getCode();
        String observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category";

        Map<String, Set<String>> cases = new java.util.LinkedHashMap<>();
        cases.put("Patient?gender=female", expected(Patient.class, p -> p.getGender() == Enumerations.AdministrativeGender.FEMALE));
        cases.put("Patient?gender=http://hl7.org/fhir/administrative-gender|male",
                expected(Patient.class, p -> p.getGender() == Enumerations.AdministrativeGender.MALE));
        cases.put("Patient?gender:missing=true", expected(Patient.class, p -> !p.hasGender()));
        cases.put("Observation?category=vital-signs", expected(Observation.class, o -> hasAny(o.getCategory(), null, "vital-signs")));
        cases.put("Observation?category=" + observationCategory + "|laboratory&patient=Patient/" + patient,
                expected(Observation.class, o -> hasAny(o.getCategory(), observationCategory, "laboratory")
                        && refersTo(o.getSubject(), patient)));
        cases.put("Observation?category=" + observationCategory + "|vital-signs&code=http://loinc.org|8867-4",
                expected(Observation.class, o -> hasAny(o.getCategory(), observationCategory, "vital-signs")
                        && has(o.getCode(), "http://loinc.org", "8867-4")));
        cases.put("Observation?status:not=final", expected(Observation.class, o -> o.getStatus() != Observation.ObservationStatus.FINAL));
        cases.put("Condition?clinical-status=active", expected(Condition.class, c -> has(c.getClinicalStatus(), null, "active")));
        cases.put("Condition?clinical-status=resolved&category=encounter-diagnosis", expected(Condition.class, c ->
                has(c.getClinicalStatus(), null, "resolved") && hasAny(c.getCategory(), null, "encounter-diagnosis")));
        cases.put("Condition?verification-status=confirmed&patient=" + patient, expected(Condition.class, c ->
                has(c.getVerificationStatus(), null, "confirmed") && refersTo(c.getSubject(), patient)));
        cases.put("Encounter?class=AMB", expected(Encounter.class, e -> "AMB".equals(e.getClass_().getCode())));
        cases.put("Encounter?type=" + encounterTypeSystem + "|" + encounterType,
                expected(Encounter.class, e -> hasAny(e.getType(), encounterTypeSystem, encounterType)));
        cases.put("Encounter?status=finished", expected(Encounter.class, e -> e.getStatus() == Encounter.EncounterStatus.FINISHED));
        cases.put("MedicationRequest?status=active,stopped&intent=order", expected(MedicationRequest.class, m ->
                (m.getStatus() == MedicationRequest.MedicationRequestStatus.ACTIVE
                        || m.getStatus() == MedicationRequest.MedicationRequestStatus.STOPPED)
                        && m.getIntent() == MedicationRequest.MedicationRequestIntent.ORDER));
        cases.put("Procedure?status=completed", expected(Procedure.class, p -> p.getStatus() == Procedure.ProcedureStatus.COMPLETED));
        cases.put("Immunization?status=completed",
                expected(Immunization.class, i -> i.getStatus() == Immunization.ImmunizationStatus.COMPLETED));
        cases.put("DiagnosticReport?category=LAB&status=final", expected(DiagnosticReport.class, d -> hasAny(d.getCategory(), null, "LAB")
                && d.getStatus() == DiagnosticReport.DiagnosticReportStatus.FINAL));
        cases.put("AllergyIntolerance?clinical-status=active",
                expected(AllergyIntolerance.class, a -> has(a.getClinicalStatus(), null, "active")));
        cases.put("CarePlan?category=" + planCategory + "&status=active", expected(CarePlan.class, c ->
                hasAny(c.getCategory(), null, planCategory) && c.getStatus() == CarePlan.CarePlanStatus.ACTIVE));
        cases.put("CareTeam?status=active", expected(CareTeam.class, c -> c.getStatus() == CareTeam.CareTeamStatus.ACTIVE));

        cases.forEach((query, ids) -> assertThat(search(query)).as(query).isEqualTo(ids));
        // The cases are not vacuous: the common ones match many resources, and some none.
        assertThat(cases.get("Patient?gender=female").size() + cases.get("Patient?gender=http://hl7.org/fhir/administrative-gender|male")
                .size()).isEqualTo(5);
        assertThat(cases.get("Observation?category=vital-signs")).hasSizeGreaterThan(50);
        assertThat(cases.get("Encounter?class=AMB")).hasSizeGreaterThan(10);
        assertThat(cases.get("Condition?clinical-status=active")).isNotEmpty();
        assertThat(cases.entrySet().stream().filter(e -> e.getKey().contains("|laboratory&patient=")).findFirst().orElseThrow()
                .getValue()).isNotEmpty();
    }

    static String folded(String s) {
        return java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFD).replaceAll("\\p{M}", "").toLowerCase(java.util.Locale.ROOT);
    }

    /** Every part of a patient's names, as FHIR's name parameter reads them. */
    static List<String> nameParts(Patient p) {
        List<String> parts = new ArrayList<>();
        p.getName().forEach(n -> {
            if (n.hasFamily()) {
                parts.add(n.getFamily());
            }
            n.getGiven().forEach(g -> parts.add(g.getValue()));
            n.getPrefix().forEach(g -> parts.add(g.getValue()));
            n.getSuffix().forEach(g -> parts.add(g.getValue()));
            if (n.hasText()) {
                parts.add(n.getText());
            }
        });
        return parts;
    }

    static java.time.Instant utc(String date) {
        return java.time.LocalDate.parse(date).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
    }

    @Test
    void everyUsCoreStringAndDateSearchReturnsExactlyTheResourcesThatMatch() {
        Patient first = loaded.stream().filter(r -> r instanceof Patient).map(r -> (Patient) r).findFirst().orElseThrow();
        String id = first.getIdElement().getIdPart();
        String family = first.getNameFirstRep().getFamily();
        String given = first.getNameFirstRep().getGivenAsSingleString().split(" ")[0];
        String birth = first.getBirthDateElement().getValueAsString();
        Observation anObservation = loaded.stream().filter(r -> r instanceof Observation o && refersTo(o.getSubject(), id)
                && o.hasEffectiveDateTimeType()).map(r -> (Observation) r).findFirst().orElseThrow();
        String observationDay = anObservation.getEffectiveDateTimeType().getValueAsString().substring(0, 10);

        Map<String, Set<String>> cases = new java.util.LinkedHashMap<>();
        cases.put("Patient?name=" + family.substring(0, 3).toUpperCase(), expected(Patient.class, p -> nameParts(p).stream()
                .anyMatch(n -> folded(n).startsWith(folded(family.substring(0, 3))))));
        cases.put("Patient?family=" + family, expected(Patient.class, p -> p.getName().stream().anyMatch(n -> n.hasFamily()
                && folded(n.getFamily()).startsWith(folded(family)))));
        cases.put("Patient?given=" + given.substring(0, Math.min(6, given.length())), expected(Patient.class, p -> p.getName().stream()
                .flatMap(n -> n.getGiven().stream()).anyMatch(g -> folded(g.getValue()).startsWith(folded(given.substring(0,
                        Math.min(6, given.length())))))));
        cases.put("Patient?name:exact=" + family, expected(Patient.class, p -> nameParts(p).contains(family)));
        cases.put("Patient?name:exact=" + family.toLowerCase(), expected(Patient.class, p -> nameParts(p).contains(family.toLowerCase())));
        cases.put("Patient?birthdate=" + birth, expected(Patient.class, p -> birth.equals(p.getBirthDateElement().getValueAsString())));
        cases.put("Patient?birthdate=" + birth.substring(0, 4) + "&family=" + family, expected(Patient.class, p ->
                p.getBirthDateElement().getValueAsString().startsWith(birth.substring(0, 4))
                        && p.getName().stream().anyMatch(n -> folded(n.getFamily()).startsWith(folded(family)))));
        cases.put("Patient?birthdate=lt1970", expected(Patient.class, p -> p.getBirthDateElement().getValueAsString().compareTo("1970") < 0));
        cases.put("Patient?birthdate=ge1970-01-01", expected(Patient.class, p -> p.getBirthDateElement().getValueAsString()
                .compareTo("1970-01-01") >= 0));
        cases.put("Patient?birthdate:missing=false", expected(Patient.class, Patient::hasBirthDate));
        cases.put("Observation?patient=" + id + "&date=" + observationDay, expected(Observation.class, o -> refersTo(o.getSubject(), id)
                && o.hasEffectiveDateTimeType() && !o.getEffectiveDateTimeType().getValue().toInstant().isBefore(utc(observationDay))
                && o.getEffectiveDateTimeType().getValue().toInstant().isBefore(utc(observationDay).plus(java.time.Duration.ofDays(1)))));
        cases.put("Observation?patient=" + id + "&category=vital-signs&date=ge2015-01-01&date=lt2019-07",
                expected(Observation.class, o -> refersTo(o.getSubject(), id) && hasAny(o.getCategory(), null, "vital-signs")
                        && o.hasEffectiveDateTimeType() && !o.getEffectiveDateTimeType().getValue().toInstant().isBefore(utc("2015-01-01"))
                        && o.getEffectiveDateTimeType().getValue().toInstant().isBefore(utc("2019-07-01"))));
        cases.put("Observation?patient=" + id + "&date=sa" + observationDay, expected(Observation.class, o -> refersTo(o.getSubject(), id)
                && o.hasEffectiveDateTimeType() && !o.getEffectiveDateTimeType().getValue().toInstant().isBefore(utc(observationDay)
                .plus(java.time.Duration.ofDays(1)))));
        cases.put("Encounter?patient=" + id + "&date=2016", expected(Encounter.class, e -> refersTo(e.getSubject(), id)
                && e.getPeriod().hasStart() && e.getPeriod().hasEnd()
                && !e.getPeriod().getStart().toInstant().isBefore(utc("2016-01-01"))
                && !e.getPeriod().getEnd().toInstant().isAfter(utc("2017-01-01"))));
        cases.put("Condition?onset-date=lt2010", expected(Condition.class, c -> c.hasOnsetDateTimeType()
                && c.getOnsetDateTimeType().getValue().toInstant().isBefore(utc("2010-01-01"))));
        cases.put("MedicationRequest?patient=" + id + "&authoredon=ge2018", expected(MedicationRequest.class, m ->
                refersTo(m.getSubject(), id) && !m.getAuthoredOn().toInstant().isBefore(utc("2018-01-01"))));

        cases.forEach((query, ids) -> assertThat(search(query)).as(query).isEqualTo(ids));
        // Not vacuous: the name, birth date and day searches find the first patient, the ranges find many.
        assertThat(cases.get("Patient?family=" + family)).contains(id);
        assertThat(cases.get("Patient?name:exact=" + family.toLowerCase())).isEmpty();
        assertThat(cases.get("Patient?birthdate=" + birth)).contains(id);
        assertThat(cases.get("Observation?patient=" + id + "&date=" + observationDay)).contains(anObservation.getIdElement().getIdPart());
        assertThat(cases.get("Condition?onset-date=lt2010")).isNotEmpty();
        assertThat(cases.get("Patient?birthdate:missing=false")).hasSize(5);
    }

    @Test
    void aSortByADateParameterOrdersEveryPage() {
        String id = loaded.stream().filter(r -> r instanceof Patient).findFirst().orElseThrow().getIdElement().getIdPart();
        List<Observation> vitals = loaded.stream().filter(r -> r instanceof Observation o && refersTo(o.getSubject(), id)
                && hasAny(o.getCategory(), null, "vital-signs")).map(r -> (Observation) r).toList();
        assertThat(vitals).hasSizeGreaterThan(20);
        List<String> newest = ordered("Observation?patient=" + id + "&category=vital-signs&_sort=-date&_count=7");
        assertThat(newest).hasSameSizeAs(vitals);
        java.util.Map<String, java.time.Instant> when = new java.util.HashMap<>();
        vitals.forEach(o -> when.put(o.getIdElement().getIdPart(), o.getEffectiveDateTimeType().getValue().toInstant()));
        for (int i = 1; i < newest.size(); i++) {
            assertThat(when.get(newest.get(i))).as("entry %d", i).isBeforeOrEqualTo(when.get(newest.get(i - 1)));
        }
        List<String> oldest = ordered("Observation?patient=" + id + "&category=vital-signs&_sort=date&_count=7");
        assertThat(when.get(oldest.get(0))).isEqualTo(when.values().stream().min(java.util.Comparator.naturalOrder()).orElseThrow());
        assertThat(when.get(oldest.get(oldest.size() - 1))).isEqualTo(when.get(newest.get(0)));
        List<String> patients = ordered("Patient?_sort=birthdate");
        List<String> births = patients.stream().map(p -> loaded.stream().filter(r -> r.getIdElement().getIdPart().equals(p))
                .map(r -> ((Patient) r).getBirthDateElement().getValueAsString()).findFirst().orElse(null))
                .filter(java.util.Objects::nonNull).toList(); // the Synthea patients; others tests create are left out
        assertThat(births).hasSize(5).isSorted();
    }

    @Test
    void stringSearchIgnoresCaseAndAccentsAndPeriodsCompareAsFhirSays() {
        Patient p = new Patient();
        p.addName().setFamily("Dupré-Lefèvre").addGiven("Hélène").addPrefix("Mme");
        p.setBirthDateElement(new org.hl7.fhir.r4.model.DateType("1962-03"));
        String id = client.create().resource(p).execute().getId().getIdPart();
        assertThat(search("Patient?family=DUPRE")).containsExactly(id);
        assertThat(search("Patient?family=dupre-lef")).containsExactly(id);
        assertThat(search("Patient?family=dupre-lefevre-x")).isEmpty();
        assertThat(search("Patient?name=hélène&name=mme")).containsExactly(id);
        assertThat(search("Patient?given=lefevre")).isEmpty(); // a prefix of the string, not of any word
        assertThat(search("Patient?family:exact=Dupré-Lefèvre")).containsExactly(id);
        assertThat(search("Patient?family:exact=Dupre-Lefevre")).isEmpty();
        // A month of birth: contained in 1962 and in ge1962-03-10's range above (overlap), not equal to a day of it.
        assertThat(search("Patient?birthdate=1962&family=dupr")).containsExactly(id);
        assertThat(search("Patient?birthdate=1962-03-10&family=dupr")).isEmpty();
        assertThat(search("Patient?birthdate=ge1962-03-10&family=dupr")).containsExactly(id);
        assertThat(search("Patient?birthdate=le1962-03-10&family=dupr")).containsExactly(id);
        assertThat(search("Patient?birthdate=sa1962-03-10&family=dupr")).isEmpty();
        assertThat(search("Patient?birthdate=eb1962-04-01&family=dupr")).containsExactly(id);
        assertThat(search("Patient?birthdate=ap1962-03-15&family=dupr")).containsExactly(id);
        assertThat(search("Patient?birthdate=ne1962&family=dupr")).isEmpty();

        Encounter open = new Encounter();
        open.setStatus(Encounter.EncounterStatus.INPROGRESS);
        open.getClass_().setSystem("http://terminology.hl7.org/CodeSystem/v3-ActCode").setCode("IMP");
        open.getPeriod().setStartElement(new org.hl7.fhir.r4.model.DateTimeType("2026-11-30T08:00:00Z"));
        String stay = client.create().resource(open).execute().getId().getIdPart();
        // An open period: still going, so after any date since it began, and not within any bounded range.
        assertThat(search("Encounter?class=IMP&date=gt2030")).containsExactly(stay);
        assertThat(search("Encounter?class=IMP&date=ge2026-11-30")).containsExactly(stay);
        assertThat(search("Encounter?class=IMP&date=2026-11")).isEmpty();
        assertThat(search("Encounter?class=IMP&date=lt2026-11-30T09:00:00Z")).containsExactly(stay);
        assertThat(search("Encounter?class=IMP&date=lt2026-11-30T07:00:00Z")).isEmpty();
    }

    @Test
    void unsafeOrMalformedStringAndDateQueriesAreRefused() throws Exception {
        String token = TestTokens.ofVault(vault.dataDir).sign("dr-1", "practitioner", "user/*.rs", null);
        for (String refused : List.of("/fhir/Patient?name:contains=dup", "/fhir/Patient?birthdate=notadate",
                "/fhir/Patient?birthdate=xx1970", "/fhir/Patient?name=" + "a".repeat(300))) {
            HttpResponse<String> r = vault.get(refused, token);
            assertThat(r.statusCode()).as(refused).isEqualTo(400);
            assertThat(FHIR.newJsonParser().parseResource(OperationOutcome.class, r.body()).getIssueFirstRep().getDiagnostics())
                    .as(refused).isNotBlank().doesNotContain("notadate").doesNotContain("aaaaaaaa");
        }
    }

    @Test
    void metaTagSecurityAndProfileAreSearchable() {
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().addCoding().setSystem("http://loinc.org").setCode("8310-5");
        o.getMeta().addProfile("http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-temperature")
                .addTag("urn:test:tags", "reviewed", null).addSecurity("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", null);
        String id = client.create().resource(o).execute().getId().getIdPart();
        assertThat(search("Observation?_profile=http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-temperature"))
                .containsExactly(id);
        assertThat(search("Observation?_tag=urn:test:tags|reviewed")).containsExactly(id);
        assertThat(search("Observation?_tag=urn:other|reviewed")).isEmpty();
        assertThat(search("Observation?_security=R&code=8310-5")).containsExactly(id);
    }

    @Test
    void theCapabilityStatementListsWhatEachTypeEvaluatesAndOtherParametersAreRefused() throws Exception {
        CapabilityStatement cs = client.capabilities().ofType(CapabilityStatement.class).execute();
        Map<String, Set<String>> byType = new java.util.HashMap<>();
        cs.getRestFirstRep().getResource().forEach(r -> byType.put(r.getType(), new TreeSet<>(r.getSearchParam().stream()
                .map(CapabilityStatement.CapabilityStatementRestResourceSearchParamComponent::getName).toList())));
        assertThat(byType.get("Patient")).contains("gender", "identifier", "_id", "_lastUpdated", "_tag", "_profile")
                .doesNotContain("category", "code");
        assertThat(byType.get("Observation")).contains("category", "status", "code", "patient", "subject").doesNotContain("gender");
        assertThat(byType.get("Condition")).contains("clinical-status", "verification-status", "category");
        assertThat(byType.get("MedicationRequest")).contains("status", "intent");
        String token = TestTokens.ofVault(vault.dataDir).sign("dr-1", "practitioner", "user/*.rs", null);
        for (String refused : List.of("/fhir/Observation?gender=female", "/fhir/Patient?category=x", "/fhir/Patient?gender:above=x")) {
            HttpResponse<String> r = vault.get(refused, token);
            assertThat(r.statusCode()).as(refused).isEqualTo(400);
            assertThat(FHIR.newJsonParser().parseResource(OperationOutcome.class, r.body()).getIssueFirstRep().getDiagnostics())
                    .as(refused).isNotBlank().doesNotContain("female");
        }
    }

    @Test
    void theIndexHoldsNoneOfTheseValuesInClear() {
        String rows = vault.context.getBean(JdbcTemplate.class).queryForList("select token from search_token").toString();
        List<String> values = new ArrayList<>(List.of("female", "vital-signs", "laboratory", "encounter-diagnosis", "active",
                "finished", "observation-category", "administrative-gender", "us-core"));
        loaded.stream().filter(r -> r instanceof Patient).map(r -> (Patient) r).forEach(p -> {
            nameParts(p).stream().filter(n -> n.length() >= 6).forEach(n -> {
                values.add(n);
                values.add(folded(n));
            });
            values.add(p.getBirthDateElement().getValueAsString());
        });
        for (String value : values) {
            assertThat(rows).as(value).doesNotContain(value);
        }
    }
}
