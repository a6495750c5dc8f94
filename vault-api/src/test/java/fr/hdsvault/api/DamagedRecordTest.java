package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.metrics.IntegrityFailures;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A damaged record is named, not contagious: a search or $everything that includes it answers
 * its healthy entries and an OperationOutcome entry naming the damaged one; a direct read of it
 * is a 500 that says it failed its integrity check; the failure is logged (by object key, never
 * the record's id) and counted.
 */
@ExtendWith(OutputCaptureExtension.class)
class DamagedRecordTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String token;
    static String patient;
    static List<String> observations;

    @BeforeAll
    static void start() throws Exception {
        // Without the ciphertext cache: it would serve the records written here as written, whatever is done to their
        // stored copies afterwards (RecordObjects); the damage is to be met in the store, as after a restart.
        vault = new VaultHttps(dir.resolve("vault"), java.util.Map.of("vault.cache.record-objects", "0"));
        token = TestTokens.ofVault(vault.dataDir).sign("dr-damage", "practitioner", "user/*.cruds", null);
        patient = create("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Damaged\"}]}");
        observations = List.of(observation(), observation(), observation());
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    static String observation() throws Exception {
        return create("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"subject\":"
                + "{\"reference\":\"Patient/" + patient + "\"}}");
    }

    static String create(String body) throws Exception {
        HttpResponse<String> r = vault.send("POST", "/fhir/" + (body.contains("\"Patient\",") ? "Patient" : "Observation"), token, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return FHIR.newJsonParser().parseResource(r.body()).getIdElement().getIdPart();
    }

    /** Flips a byte of the stored object of a resource's first version, on the embedded server's disk. */
    static String damage(String id) throws Exception {
        String key = vault.context.getBean(JdbcTemplate.class).queryForObject(
                "select object_key from resource_version where resource_id = ? and version_id = 1", String.class, id);
        Path file = EmbeddedS3Server.bucketDirectory(vault.dataDir.resolve("s3"), fr.hdsvault.api.storage.StoresProperties.Role.PRIMARY.defaultBucket()).resolve(key);
        byte[] b = Files.readAllBytes(file);
        b[b.length - 5] ^= 1;
        Files.write(file, b);
        return key;
    }

    @Test
    void aSearchAndEverythingServeTheHealthyEntriesAndNameTheDamagedOne(CapturedOutput log) throws Exception {
        String damaged = observations.get(1);
        String key = damage(damaged);
        // The registry the operators' scrape reads (Micrometer's global one also holds earlier tests' closed registries).
        Counter failures = vault.context.getBean(MeterRegistry.class).counter(IntegrityFailures.METRIC, "kind", "record");
        double before = failures.count();

        HttpResponse<String> search = vault.get("/fhir/Observation?patient=" + patient, token);
        assertThat(search.statusCode()).as(search.body()).isEqualTo(200);
        Bundle page = FHIR.newJsonParser().parseResource(Bundle.class, search.body());
        assertThat(page.getTotal()).isEqualTo(3);
        assertThat(page.getEntry()).filteredOn(e -> e.getSearch().getMode() == Bundle.SearchEntryMode.MATCH)
                .extracting(e -> e.getResource().getIdElement().getIdPart())
                .containsExactlyInAnyOrder(observations.get(0), observations.get(2));
        assertThat(page.getEntry()).filteredOn(e -> e.getSearch().getMode() == Bundle.SearchEntryMode.OUTCOME).singleElement()
                .satisfies(e -> assertThat(((OperationOutcome) e.getResource()).getIssueFirstRep().getDiagnostics())
                        .contains("Observation/" + damaged + "/_history/1").contains("failed its integrity check"));

        HttpResponse<String> everything = vault.get("/fhir/Patient/" + patient + "/$everything", token);
        assertThat(everything.statusCode()).as(everything.body()).isEqualTo(200);
        Bundle all = FHIR.newJsonParser().parseResource(Bundle.class, everything.body());
        assertThat(all.getEntry()).filteredOn(e -> e.getSearch().getMode() == Bundle.SearchEntryMode.MATCH).hasSize(3);
        assertThat(all.getEntry()).filteredOn(e -> e.getSearch().getMode() == Bundle.SearchEntryMode.OUTCOME).hasSize(1);

        HttpResponse<String> read = vault.get("/fhir/Observation/" + damaged, token);
        assertThat(read.statusCode()).isEqualTo(500);
        assertThat(read.body()).contains("failed its integrity check").doesNotContain("java.").doesNotContain("Exception");

        assertThat(failures.count() - before).isEqualTo(3);
        assertThat(log.getAll()).contains("integrity failure: object " + key).doesNotContain("integrity failure: object " + damaged);
        assertThat(log.getAll().lines().filter(l -> l.contains("integrity failure")).toList()).allSatisfy(l ->
                assertThat(l).doesNotContain(damaged).doesNotContain(patient));
        // The healthy records still read on their own.
        assertThat(vault.get("/fhir/Observation/" + observations.get(0), token).statusCode()).isEqualTo(200);
    }
}
