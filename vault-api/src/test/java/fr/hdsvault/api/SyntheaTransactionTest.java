package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Every Synthea bundle of ../shared/fhir-samples loads as one transaction over HTTPS, and every
 * resource reads back identical to what was sent (ignoring id and meta, with its urn:uuid
 * references replaced by the ids the vault assigned).
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class SyntheaTransactionTest {

    static final Path SAMPLES = Path.of("..", "..", "shared", "fhir-samples", "synthea-r4");
    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static IGenericClient client;

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isDirectory(SAMPLES) && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the Synthea test: " + SAMPLES.toAbsolutePath() + " is missing");
        }
        assumeTrue(Files.isDirectory(SAMPLES), "no Synthea samples at " + SAMPLES.toAbsolutePath() + ": test skipped");
        vault = new VaultHttps(dir.resolve("vault"));
        client = FhirCrudTest.clientFor(vault);
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static Bundle read(Path file) throws Exception {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return FHIR.newJsonParser().parseResource(Bundle.class, in);
        }
    }

    static List<Path> bundles() throws Exception {
        try (Stream<Path> files = Files.list(SAMPLES)) {
            return files.filter(f -> f.toString().endsWith(".json.gz")).sorted().toList();
        }
    }

    /**
     * Sends the first {@code count} bundles as transactions; adds each resource as sent, under the id
     * the vault gave it, to {@code loaded}, and each entry's fullUrl with its Type/id to {@code assigned}.
     */
    static void load(ca.uhn.fhir.rest.client.api.IGenericClient client, int count, List<org.hl7.fhir.r4.model.Resource> loaded,
                     java.util.Map<String, String> assigned) throws Exception {
        for (Path file : bundles().subList(0, count)) {
            Bundle sent = read(file);
            Bundle response = client.transaction().withBundle(read(file)).execute();
            for (int i = 0; i < sent.getEntry().size(); i++) {
                org.hl7.fhir.r4.model.Resource r = sent.getEntry().get(i).getResource();
                String[] location = response.getEntry().get(i).getResponse().getLocation().split("/");
                r.setId(location[1]);
                assigned.put(sent.getEntry().get(i).getFullUrl(), location[0] + "/" + location[1]);
                loaded.add(r);
            }
        }
    }

    @Test
    @org.junit.jupiter.api.Order(1)
    void everyBundleLoadsAsATransactionAndEveryResourceReadsBackIdentical() throws Exception {
        List<Path> files = bundles();
        assertThat(files).hasSize(31);
        AtomicInteger compared = new AtomicInteger();
        ExecutorService readers = Executors.newFixedThreadPool(4);
        try {
            for (Path file : files) {
                Bundle sent = read(file);
                Bundle response = client.transaction().withBundle(read(file)).execute();
                assertThat(response.getType()).isEqualTo(Bundle.BundleType.TRANSACTIONRESPONSE);
                assertThat(response.getEntry()).hasSameSizeAs(sent.getEntry());
                Map<String, String> assigned = new HashMap<>();
                for (int i = 0; i < sent.getEntry().size(); i++) {
                    Bundle.BundleEntryResponseComponent r = response.getEntry().get(i).getResponse();
                    assertThat(r.getStatus()).startsWith("201");
                    assigned.put(sent.getEntry().get(i).getFullUrl(), new IdType(r.getLocation()).toUnqualifiedVersionless().getValue());
                }
                List<Future<?>> checks = new ArrayList<>();
                for (Bundle.BundleEntryComponent entry : sent.getEntry()) {
                    checks.add(readers.submit(() -> {
                        Resource expected = entry.getResource().copy();
                        FHIR.newTerser().getAllPopulatedChildElementsOfType(expected, Reference.class).forEach(ref -> {
                            if (assigned.containsKey(ref.getReference())) {
                                ref.setReference(assigned.get(ref.getReference()));
                            }
                        });
                        IdType id = new IdType(assigned.get(entry.getFullUrl()));
                        Resource actual = (Resource) client.read().resource(expected.fhirType()).withId(id.getIdPart()).execute();
                        assertThat(actual.getMeta().getVersionId()).isEqualTo("1");
                        expected.setId((String) null);
                        expected.setMeta(null);
                        actual.setId((String) null);
                        actual.setMeta(null);
                        assertThat(actual.equalsDeep(expected))
                                .as("%s from %s reads back identical", expected.fhirType(), file.getFileName()).isTrue();
                        compared.incrementAndGet();
                    }));
                }
                for (Future<?> f : checks) {
                    f.get();
                }
            }
        } finally {
            readers.shutdown();
        }
        assertThat(compared.get()).isGreaterThan(9000);
    }

    /** The loaded data set, backed up, restored into an empty directory, reads back identical through the restored vault. */
    @Test
    @org.junit.jupiter.api.Order(2)
    void theLoadedSetRestoresFromABackupAndEveryResourceReadsBackIdentical() throws Exception {
        Map<String, Object> summary = BackupRestoreTest.backup(vault);
        assertThat(summary.get("status")).isEqualTo("complete");
        Path restoredDir = dir.resolve("restored");
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        assertThat(BackupRestoreTest.restore(vault.dataDir, restoredDir, out, err)).as(err.toString()).isZero();
        List<String> resources = vault.context.getBean(JdbcTemplate.class).queryForList(
                "select resource_type || '/' || resource_id from resource_current where deleted = false", String.class);
        assertThat(resources).hasSizeGreaterThan(9000);
        try (VaultHttps restored = new VaultHttps(restoredDir, Map.of("vault.backup.cron", "-", "vault.drill.cron", "-"))) {
            String a = BackupRestoreTest.practitioner(vault.dataDir);
            String b = BackupRestoreTest.practitioner(restoredDir);
            ExecutorService readers = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> checks = new ArrayList<>();
                for (String resource : resources) {
                    checks.add(readers.submit(() -> {
                        var there = vault.get("/fhir/" + resource, a);
                        var here = restored.get("/fhir/" + resource, b);
                        assertThat(here.statusCode()).as(resource).isEqualTo(200);
                        assertThat(here.body()).as(resource).isEqualTo(there.body());
                        return null;
                    }));
                }
                for (Future<?> f : checks) {
                    f.get();
                }
            } finally {
                readers.shutdown();
            }
            String auditor = TestTokens.ofVault(restoredDir).sign("aud-1", "auditor", null, null);
            assertThat(BackupRestoreTest.json(restored.get("/admin/audit/verify", auditor)).get("ok")).isEqualTo(true);
        }
    }

    @Test
    @org.junit.jupiter.api.Order(3)
    void aTransactionWithOneBadEntryStoresNothing() throws Exception {
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        int before = jdbc.queryForObject("select count(*) from resource_version", Integer.class);
        Bundle bundle = read(bundles().get(0));
        // The last entry now points at a urn:uuid no entry declares: the whole transaction must fail.
        Resource last = bundle.getEntry().get(bundle.getEntry().size() - 1).getResource();
        FHIR.newTerser().getAllPopulatedChildElementsOfType(last, Reference.class).stream()
                .filter(r -> r.getReference() != null && r.getReference().startsWith("urn:uuid:")).findFirst()
                .orElseThrow().setReference("urn:uuid:00000000-0000-0000-0000-000000000000");
        assertThatThrownBy(() -> client.transaction().withBundle(bundle).execute()).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("urn:uuid");
        Bundle wrongType = read(bundles().get(0));
        wrongType.getEntry().get(3).getRequest().setUrl("Patient");
        assertThatThrownBy(() -> client.transaction().withBundle(wrongType).execute()).isInstanceOf(InvalidRequestException.class);
        Bundle mismatched = read(bundles().get(0));
        Bundle.BundleEntryComponent first = mismatched.getEntry().get(0);
        first.getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(first.getResource().fhirType() + "/chosen-id");
        first.getResource().setId("another-id");
        assertThatThrownBy(() -> client.transaction().withBundle(mismatched).execute()).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("differs");
        assertThat(jdbc.queryForObject("select count(*) from resource_version", Integer.class)).isEqualTo(before);
    }
}
