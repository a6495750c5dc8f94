package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.index.ParameterIndexer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A vault whose index predates two parameters (one new to it, one whose definition changed):
 * started again, it refuses searches on them (400, with the progress) while it builds their
 * index from the stored records in the background, serving everything else and taking writes;
 * then it answers them exactly, the writes made during the build included.
 */
class SearchReindexTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    Path dir;

    @Test
    void aParameterNewToTheIndexIsBuiltWhileTheVaultServesAndIsRefusedUntilComplete() throws Exception {
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        Path data = dir.resolve("vault");
        List<Resource> loaded = new ArrayList<>();
        try (VaultHttps vault = new VaultHttps(data)) {
            var client = FhirCrudTest.clientFor(vault);
            for (Path file : SyntheaTransactionTest.bundles().subList(0, 3)) {
                Bundle sent = SyntheaTransactionTest.read(file);
                Bundle response = client.transaction().withBundle(SyntheaTransactionTest.read(file)).execute();
                for (int i = 0; i < sent.getEntry().size(); i++) {
                    Resource r = sent.getEntry().get(i).getResource();
                    r.setId(response.getEntry().get(i).getResponse().getLocation().split("/")[1]);
                    loaded.add(r);
                }
            }
            // What an index written by an earlier version looks like: no Condition clinical-status at all, and Patient gender
            // recorded under another definition (its tokens are rebuilt, not trusted).
            JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
            assertThat(jdbc.update("delete from search_token where resource_type = 'Condition' and param = 'clinical-status'"))
                    .isPositive();
            jdbc.update("delete from search_param where resource_type = 'Condition' and param = 'clinical-status'");
            assertThat(jdbc.update("update search_param set definition = 'Patient.gender @v0' where resource_type = 'Patient' "
                    + "and param = 'gender'")).isEqualTo(1);
        }

        // Slowly (2 records a second), so that the build is seen under way.
        try (VaultHttps vault = new VaultHttps(data, Map.of("vault.search.reindex-rate", "2", "vault.search.reindex-page", "4"))) {
            String token = TestTokens.ofVault(data).sign("dr-1", "practitioner", "user/*.cruds", null);
            HttpResponse<String> refused = vault.get("/fhir/Condition?clinical-status=resolved", token);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            assertThat(FHIR.newJsonParser().parseResource(OperationOutcome.class, refused.body()).getIssueFirstRep().getDiagnostics())
                    .contains("clinical-status of Condition is being indexed");
            assertThat(vault.get("/fhir/Patient?gender=female", token).statusCode()).isEqualTo(400);
            // Everything else is served, and writes go on.
            assertThat(vault.get("/fhir/Condition?verification-status=confirmed", token).statusCode()).isEqualTo(200);
            Patient during = new Patient().setGender(Enumerations.AdministrativeGender.FEMALE);
            HttpResponse<String> created = vault.send("POST", "/fhir/Patient", token, FHIR.newJsonParser().encodeResourceToString(during));
            assertThat(created.statusCode()).isEqualTo(201);
            String duringId = created.headers().firstValue("Location").orElseThrow().replaceAll(".*/Patient/([^/]+)/.*", "$1");

            ParameterIndexer indexer = vault.context.getBean(ParameterIndexer.class);
            long deadline = System.currentTimeMillis() + 120_000;
            while (!indexer.complete() && System.currentTimeMillis() < deadline) {
                Thread.sleep(250);
            }
            assertThat(indexer.complete()).as("the build completes").isTrue();

            Set<String> conditions = new TreeSet<>();
            loaded.stream().filter(r -> r instanceof Condition c && c.getClinicalStatus().getCoding().stream()
                    .anyMatch(x -> "resolved".equals(x.getCode()))).forEach(r -> conditions.add(r.getIdElement().getIdPart()));
            assertThat(conditions).isNotEmpty();
            assertThat(ids(vault.get("/fhir/Condition?clinical-status=resolved&_count=1000", token))).isEqualTo(conditions);
            Set<String> women = new TreeSet<>();
            loaded.stream().filter(r -> r instanceof Patient p && p.getGender() == Enumerations.AdministrativeGender.FEMALE)
                    .forEach(r -> women.add(r.getIdElement().getIdPart()));
            women.add(duringId);
            assertThat(ids(vault.get("/fhir/Patient?gender=female&_count=1000", token))).isEqualTo(women);
            // One row of tokens per value, none twice (the write during the build and the build did not both add them).
            JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
            assertThat(jdbc.queryForObject("select count(*) from search_token where resource_type = 'Patient' and param = 'gender'",
                    Long.class)).isEqualTo(2L * loaded.stream().filter(r -> r instanceof Patient p && p.hasGender()).count() + 2);
        }
    }

    static Set<String> ids(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        Bundle b = FHIR.newJsonParser().parseResource(Bundle.class, response.body());
        assertThat(b.getLink(Bundle.LINK_NEXT)).isNull();
        Set<String> ids = new TreeSet<>();
        b.getEntry().forEach(e -> ids.add(e.getResource().getIdElement().getIdPart()));
        return ids;
    }
}
