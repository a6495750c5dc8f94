package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import fr.hdsvault.api.storage.VaultStores;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * FHIR Bulk Data export end to end, over HTTPS with a SMART Backend Services client: the 31
 * Synthea patients exported at system, patient and group level with the counts per type the
 * bundles hold, filters, the protocol's refusals, another client shut out, cancel, expiry, and a
 * node restarted in the middle of an export that then completes with every resource exactly once.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BulkExportTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final FhirContext FHIR = FhirContext.forR4Cached();
    /** Detection thresholds below the export's 31 patients: the export is alerted by its own rule, never as mass access. */
    static final Map<String, Object> SETTINGS = Map.of("vault.bulk.retry-after", "1s", "vault.bulk.file-resources", "500",
            "vault.detection.bulk-export.patients", "30", "vault.detection.mass-access.patients", "20");

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static ECKey exporterKey;
    static ECKey otherKey;
    /** Resources per type in the 31 bundles, as sent. */
    static final Map<String, Integer> sent = new TreeMap<>();
    static final List<String> patientIds = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isDirectory(SyntheaTransactionTest.SAMPLES) && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the bulk export test: the Synthea samples are missing");
        }
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        vault = new VaultHttps(dir.resolve("vault"), SETTINGS);
        var client = FhirCrudTest.clientFor(vault);
        for (Path file : SyntheaTransactionTest.bundles()) {
            Bundle bundle = SyntheaTransactionTest.read(file);
            bundle.getEntry().forEach(e -> sent.merge(e.getResource().fhirType(), 1, Integer::sum));
            Bundle response = client.transaction().withBundle(bundle).execute();
            for (Bundle.BundleEntryComponent e : response.getEntry()) {
                String location = e.getResponse().getLocation();
                if (location.startsWith("Patient/")) {
                    patientIds.add(location.split("/")[1]);
                }
            }
        }
        assertThat(patientIds).hasSize(31);
        String operator = TestTokens.ofVault(vault.dataDir).sign("ops-1", "operator", null, null);
        exporterKey = new ECKeyGenerator(Curve.P_384).keyID("exp-1").generate();
        otherKey = new ECKeyGenerator(Curve.P_384).keyID("oth-1").generate();
        register(operator, "exporter", exporterKey, "system/*.read");
        register(operator, "other", otherKey, "system/*.read");
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static void register(String operator, String id, ECKey key, String scope) throws Exception {
        Map<String, Object> body = Map.of("clientId", id, "scope", scope, "jwks", new JWKSet(key.toPublicJWK()).toJSONObject());
        HttpResponse<String> r = vault.client.send(HttpRequest.newBuilder(URI.create(vault.base + "/admin/clients"))
                .header("Authorization", "Bearer " + operator).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    /** A five-minute system token of a backend client, by the SMART Backend Services flow. */
    static String token(String client, ECKey key) throws Exception {
        String tokenUrl = vault.base + "/auth/token";
        SignedJWT assertion = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES384).keyID(key.getKeyID()).type(JOSEObjectType.JWT)
                .build(), new JWTClaimsSet.Builder().issuer(client).subject(client).audience(tokenUrl)
                .expirationTime(Date.from(Instant.now().plusSeconds(240))).jwtID(UUID.randomUUID().toString()).build());
        assertion.sign(new ECDSASigner(key));
        String form = "grant_type=client_credentials&scope=" + URLEncoder.encode("system/*.read", StandardCharsets.UTF_8)
                + "&client_assertion_type=" + URLEncoder.encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                StandardCharsets.UTF_8) + "&client_assertion=" + assertion.serialize();
        HttpResponse<String> r = vault.client.send(HttpRequest.newBuilder(URI.create(tokenUrl))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return (String) JSON.readValue(r.body(), Map.class).get("access_token");
    }

    static HttpResponse<String> kickOff(String token, String pathAndQuery) throws Exception {
        return vault.send("GET", pathAndQuery, token, null, "Prefer", "respond-async", "Accept", "application/fhir+json");
    }

    /** Polls as told (Retry-After) until the export is no longer in progress. */
    static HttpResponse<String> await(String token, String statusUrl) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (true) {
            HttpResponse<String> r = vault.client.send(VaultHttps.request(statusUrl, "GET", token, null),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 202 && r.statusCode() != 429) {
                return r;
            }
            assertThat(System.nanoTime()).as("export still running").isLessThan(deadline);
            if (r.statusCode() == 202) {
                assertThat(r.headers().firstValue("X-Progress")).isPresent();
            }
            Thread.sleep(1000L * Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow()));
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> manifest(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readValue(r.body(), Map.class);
    }

    /** Downloads every output file of a manifest: resources per type, each id once. */
    @SuppressWarnings("unchecked")
    static Map<String, List<Resource>> download(String token, Map<String, Object> manifest) throws Exception {
        Map<String, List<Resource>> out = new TreeMap<>();
        for (Map<String, Object> item : (List<Map<String, Object>>) manifest.get("output")) {
            HttpResponse<String> file = vault.client.send(VaultHttps.request((String) item.get("url"), "GET", token, null,
                    "Accept", "application/fhir+ndjson"), HttpResponse.BodyHandlers.ofString());
            assertThat(file.statusCode()).isEqualTo(200);
            assertThat(file.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/fhir+ndjson");
            List<String> lines = file.body().lines().filter(l -> !l.isBlank()).toList();
            assertThat(lines).hasSize(((Number) item.get("count")).intValue());
            for (String line : lines) {
                Resource r = (Resource) FHIR.newJsonParser().parseResource(line);
                assertThat(r.fhirType()).isEqualTo(item.get("type"));
                out.computeIfAbsent(r.fhirType(), t -> new ArrayList<>()).add(r);
            }
        }
        return out;
    }

    static Map<String, Integer> counts(Map<String, List<Resource>> exported) {
        Map<String, Integer> counts = new TreeMap<>();
        exported.forEach((type, resources) -> {
            counts.put(type, resources.size());
            Set<String> ids = new HashSet<>();
            resources.forEach(r -> assertThat(ids.add(r.getIdElement().getIdPart())).as("%s exported once", r.getId()).isTrue());
        });
        return counts;
    }

    static String statusUrl(HttpResponse<String> kickoff) {
        assertThat(kickoff.statusCode()).as(kickoff.body()).isEqualTo(202);
        return kickoff.headers().firstValue("Content-Location").orElseThrow();
    }

    @Test
    @Order(1)
    void aSystemExportHoldsEveryResourceOfTheSyntheaPatientsOnceWithTheCountsPerTypeTheBundlesHeld() throws Exception {
        String token = token("exporter", exporterKey);
        Instant before = Instant.now();
        String status = statusUrl(kickOff(token, "/fhir/$export?_outputFormat=" + URLEncoder.encode("application/fhir+ndjson",
                StandardCharsets.UTF_8)));
        Map<String, Object> manifest = manifest(await(token, status));
        assertThat(Instant.parse((String) manifest.get("transactionTime"))).isAfterOrEqualTo(before.minusSeconds(1));
        assertThat(manifest).containsEntry("requiresAccessToken", true).containsEntry("error", List.of());
        assertThat((String) manifest.get("request")).endsWith("/fhir/$export?_outputFormat=application%2Ffhir%2Bndjson");
        Map<String, List<Resource>> exported = download(token, manifest);
        assertThat(counts(exported)).isEqualTo(sent);
        // The same JSON a read serves: a resource's exported line is the stored resource, id and meta included.
        Resource patient = exported.get("Patient").get(0);
        HttpResponse<String> read = vault.get("/fhir/Patient/" + patient.getIdElement().getIdPart(), token);
        assertThat(FHIR.newJsonParser().encodeResourceToString(patient)).isEqualTo(read.body());
        // One AuditEvent per patient exported, naming the client; Synthea's patients are 31.
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where subtype = 'bulk-export'", Long.class)).isEqualTo(31);
        // More patients than the bulk-export rule allows: one alert naming the client; the export is not counted as mass access.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (jdbc.queryForObject("select count(*) from audit_event where subtype = 'alert-bulk-export'", Long.class) == 0) {
            assertThat(System.nanoTime()).as("bulk export alerted").isLessThan(deadline);
            Thread.sleep(100);
        }
        Thread.sleep(1_500);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where subtype = 'alert-bulk-export'", Long.class)).isEqualTo(1);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where subtype = 'alert-mass-access' and agent_token = "
                + "(select agent_token from audit_event where subtype = 'alert-bulk-export')", Long.class)).isZero();
        // At rest the files are sealed: no clear JSON in the store, and object keys name nothing.
        VaultStores.StoreBucket bucket = vault.context.getBean("objectBucket", VaultStores.StoreBucket.class);
        var listed = bucket.store().list(bucket.bucket(), "exports/", null, 1000);
        assertThat(listed.objects()).isNotEmpty();
        for (var object : listed.objects()) {
            String raw = new String(bucket.store().getBytes(bucket.bucket(), object.key()), StandardCharsets.ISO_8859_1);
            assertThat(raw).doesNotContain("resourceType").doesNotContain(patient.getIdElement().getIdPart());
            assertThat(object.key()).matches("exports/[0-9a-f]{32}/[0-9]+");
        }
    }

    @Test
    @Order(2)
    void patientAndGroupExportsHoldTheirPatientsOnlyAndFiltersApply() throws Exception {
        String token = token("exporter", exporterKey);
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        Map<String, Integer> inCompartments = new TreeMap<>();
        jdbc.query("select resource_type, count(*) from resource_current where deleted = false and compartment like 'Patient/%' "
                + "group by resource_type", rs -> {
                    inCompartments.put(rs.getString(1), rs.getInt(2));
                });
        Map<String, List<Resource>> all = download(token, manifest(await(token, statusUrl(kickOff(token, "/fhir/Patient/$export")))));
        assertThat(counts(all)).isEqualTo(inCompartments);

        // A Group of two patients, and a filter on Observation's code: only theirs, only those.
        String groupJson = "{\"resourceType\":\"Group\",\"type\":\"person\",\"actual\":true,\"member\":[{\"entity\":{\"reference\":"
                + "\"Patient/" + patientIds.get(0) + "\"}},{\"entity\":{\"reference\":\"Patient/" + patientIds.get(1) + "\"}}]}";
        String practitioner = TestTokens.ofVault(vault.dataDir).sign("dr-1", "practitioner", "user/*.cruds", null);
        HttpResponse<String> group = vault.send("POST", "/fhir/Group", practitioner, groupJson);
        assertThat(group.statusCode()).as(group.body()).isEqualTo(201);
        String groupId = group.headers().firstValue("Location").orElseThrow().replaceAll(".*/Group/([^/]+)/.*", "$1");
        String code = "http://loinc.org|8302-2"; // body height, in every Synthea record
        Map<String, List<Resource>> members = download(token, manifest(await(token, statusUrl(kickOff(token, "/fhir/Group/" + groupId
                + "/$export?_type=Patient,Observation&_typeFilter=" + URLEncoder.encode("Observation?code=" + code,
                StandardCharsets.UTF_8))))));
        assertThat(members.keySet()).containsExactly("Observation", "Patient");
        assertThat(members.get("Patient")).extracting(r -> r.getIdElement().getIdPart())
                .containsExactlyInAnyOrder(patientIds.get(0), patientIds.get(1));
        Set<String> subjects = new HashSet<>();
        for (Resource r : members.get("Observation")) {
            var observation = (org.hl7.fhir.r4.model.Observation) r;
            assertThat(observation.getCode().getCoding()).anyMatch(c -> "8302-2".equals(c.getCode()));
            subjects.add(observation.getSubject().getReferenceElement().getIdPart());
        }
        assertThat(subjects).containsExactlyInAnyOrder(patientIds.get(0), patientIds.get(1));
        long expected = jdbc.queryForObject("select count(*) from search_token t join resource_current c on c.tenant = t.tenant "
                + "and c.resource_type = t.resource_type and c.resource_id = t.resource_id where t.resource_type = 'Observation' "
                + "and t.param = 'code' and t.token = ? and c.compartment in (?, ?) and c.deleted = false", Long.class,
                vault.context.getBean(fr.hdsvault.api.resources.VaultRepository.class).searchTokens().tokenQuery("code",
                        "http://loinc.org", "8302-2"), "Patient/" + patientIds.get(0), "Patient/" + patientIds.get(1));
        assertThat(members.get("Observation")).hasSize((int) expected).isNotEmpty();

        // A date criterion is decided on each exported resource: only the heights measured since 2015.
        Instant since2015 = Instant.parse("2015-01-01T00:00:00Z");
        Set<String> recent = new HashSet<>();
        members.get("Observation").stream().map(r -> (org.hl7.fhir.r4.model.Observation) r).filter(o -> o.hasEffectiveDateTimeType()
                && !o.getEffectiveDateTimeType().getValue().toInstant().isBefore(since2015)).forEach(o -> recent.add(o.getIdPart()));
        Map<String, List<Resource>> dated = download(token, manifest(await(token, statusUrl(kickOff(token, "/fhir/Group/" + groupId
                + "/$export?_type=Observation&_typeFilter=" + URLEncoder.encode("Observation?code=" + code + "&date=ge2015-01-01",
                StandardCharsets.UTF_8))))));
        assertThat(dated.getOrDefault("Observation", List.of())).extracting(r -> r.getIdElement().getIdPart())
                .containsExactlyInAnyOrderElementsOf(recent);
        assertThat(recent).isNotEmpty().hasSizeLessThan(members.get("Observation").size());

        // _since: nothing changed after now, so an export since now is empty.
        Map<String, Object> none = manifest(await(token, statusUrl(kickOff(token, "/fhir/$export?_since="
                + URLEncoder.encode(Instant.now().toString(), StandardCharsets.UTF_8)))));
        assertThat(none).containsEntry("output", List.of());
    }

    @Test
    @Order(3)
    void theProtocolsRefusalsAreOperationOutcomesAndStartNothing() throws Exception {
        String token = token("exporter", exporterKey);
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        long jobs = jdbc.queryForObject("select count(*) from export_job", Long.class);
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("/fhir/$export?_outputFormat=text%2Fcsv", "_outputFormat");
        refused.put("/fhir/$export?_since=" + URLEncoder.encode(Instant.now().plusSeconds(3600).toString(), StandardCharsets.UTF_8),
                "future");
        refused.put("/fhir/$export?_since=yesterday", "instant");
        refused.put("/fhir/$export?_type=Patient,Unicorn", "not a FHIR R4 resource type");
        refused.put("/fhir/$export?_type=AuditEvent", "audit trail");
        refused.put("/fhir/$export?_typeFilter=" + URLEncoder.encode("Observation?value-quantity=5", StandardCharsets.UTF_8),
                "value-quantity");
        refused.put("/fhir/$export?_type=Patient&_typeFilter=" + URLEncoder.encode("Observation?code=x", StandardCharsets.UTF_8),
                "_type does not ask for");
        refused.put("/fhir/$export?_typeFilter=" + URLEncoder.encode("Observation?date=ge2015", StandardCharsets.UTF_8)
                + "&_typeFilter=" + URLEncoder.encode("Observation?code=x", StandardCharsets.UTF_8), "must be the only _typeFilter");
        refused.put("/fhir/$export?_elements=id", "_elements");
        refused.put("/fhir/$export?includeAssociatedData=LatestProvenanceResources", "includeAssociatedData");
        for (Map.Entry<String, String> bad : refused.entrySet()) {
            HttpResponse<String> r = kickOff(token, bad.getKey());
            assertThat(r.statusCode()).as(bad.getKey() + ": " + r.body()).isEqualTo(400);
            assertThat(r.body()).contains("OperationOutcome").contains(bad.getValue());
        }
        HttpResponse<String> noPrefer = vault.send("GET", "/fhir/$export", token, null);
        assertThat(noPrefer.statusCode()).isEqualTo(400);
        assertThat(noPrefer.body()).contains("respond-async");
        assertThat(kickOff(token, "/fhir/Group/" + UUID.randomUUID() + "/$export").statusCode()).isEqualTo(404);
        // A token limited to one patient may not export; neither may a caller without a token.
        String patientToken = TestTokens.ofVault(vault.dataDir).sign("p-1", "patient", "patient/*.rs", patientIds.get(0));
        assertThat(kickOff(patientToken, "/fhir/Patient/$export").statusCode()).isEqualTo(403);
        assertThat(kickOff(null, "/fhir/$export").statusCode()).isEqualTo(401);
        assertThat(jdbc.queryForObject("select count(*) from export_job", Long.class)).isEqualTo(jobs);
    }

    @Test
    @Order(4)
    void anotherClientCannotSeeTheStatusOrTheFilesAndPollingTooFastIsThrottled() throws Exception {
        String token = token("exporter", exporterKey);
        String other = token("other", otherKey);
        String status = statusUrl(kickOff(token, "/fhir/$export?_type=Patient"));
        Map<String, Object> manifest = manifest(await(token, status));
        // A small export may finish between two polls; the job is set back to running, polled just now, so that the
        // throttle is what answers the next poll, whatever the machine's speed (leased, so that no worker takes it up again).
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        String jobId = URI.create(status).getPath().replaceAll(".*/", "");
        java.time.OffsetDateTime now = java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC);
        assertThat(jdbc.update("update export_job set status = 'running', polled_at = ?, lease_until = ? where job_id = ?",
                now, now.plusHours(1), jobId)).isEqualTo(1);
        HttpResponse<String> tooSoon = vault.client.send(VaultHttps.request(status, "GET", token, null),
                HttpResponse.BodyHandlers.ofString());
        assertThat(tooSoon.statusCode()).as(tooSoon.body()).isEqualTo(429);
        assertThat(tooSoon.headers().firstValue("Retry-After")).contains("1");
        assertThat(tooSoon.body()).contains("OperationOutcome").contains("Polled too frequently");
        assertThat(jdbc.update("update export_job set status = 'completed', lease_until = null where job_id = ?", jobId)).isEqualTo(1);
        @SuppressWarnings("unchecked")
        String file = (String) ((List<Map<String, Object>>) manifest.get("output")).get(0).get("url");
        for (String url : List.of(status, file)) {
            HttpResponse<String> r = vault.client.send(VaultHttps.request(url, "GET", other, null), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(url).isEqualTo(404);
            assertThat(r.body()).doesNotContain("\"Patient\"").contains("OperationOutcome");
            assertThat(vault.client.send(VaultHttps.request(url, "GET", null, null), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(401);
        }
        assertThat(vault.client.send(VaultHttps.request(status, "DELETE", other, null), HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(404);
        assertThat(vault.client.send(VaultHttps.request(file, "GET", token, null), HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(200);
    }

    @Test
    @Order(5)
    void cancellingDeletesTheFilesAndTheStatusIsThen404AndExpiryDoesTheSame() throws Exception {
        String token = token("exporter", exporterKey);
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        VaultStores.StoreBucket bucket = vault.context.getBean("objectBucket", VaultStores.StoreBucket.class);
        for (boolean expire : new boolean[] {false, true}) {
            String status = statusUrl(kickOff(token, "/fhir/$export?_type=Patient,Condition"));
            Map<String, Object> manifest = manifest(await(token, status));
            String job = status.substring(status.lastIndexOf('/') + 1);
            String kek = "export-" + job;
            assertThat(bucket.store().list(bucket.bucket(), "exports/" + job + "/", null, 100).objects()).isNotEmpty();
            if (expire) {
                jdbc.update("update export_job set expires_at = ? where job_id = ?", java.time.OffsetDateTime.now().minusSeconds(1), job);
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!"expired".equals(jdbc.queryForObject("select status from export_job where job_id = ?", String.class, job))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
            } else {
                HttpResponse<String> cancel = vault.client.send(VaultHttps.request(status, "DELETE", token, null),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(cancel.statusCode()).isEqualTo(202);
            }
            assertThat(jdbc.queryForObject("select status from export_job where job_id = ?", String.class, job))
                    .isEqualTo(expire ? "expired" : "cancelled");
            assertThat(vault.client.send(VaultHttps.request(status, "GET", token, null), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(404);
            @SuppressWarnings("unchecked")
            String file = (String) ((List<Map<String, Object>>) manifest.get("output")).get(0).get("url");
            assertThat(vault.client.send(VaultHttps.request(file, "GET", token, null), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(404);
            assertThat(bucket.store().list(bucket.bucket(), "exports/" + job + "/", null, 100).objects()).isEmpty();
            assertThat(jdbc.queryForObject("select count(*) from kek_registry where kek_id = ? and destroyed_at is null", Long.class,
                    kek)).isZero();
        }
    }

    @Test
    @Order(6)
    void aNodeRestartedDuringAnExportResumesItAndEveryResourceIsExportedExactlyOnce() throws Exception {
        String token = token("exporter", exporterKey);
        String status = statusUrl(kickOff(token, "/fhir/$export"));
        String job = status.substring(status.lastIndexOf('/') + 1);
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long written = 0;
        while (written == 0 && System.nanoTime() < deadline) {
            written = jdbc.queryForObject("select resources from export_job where job_id = ?", Long.class, job);
            Thread.sleep(5);
        }
        String state = jdbc.queryForObject("select status from export_job where job_id = ?", String.class, job);
        vault.close(); // mid-export: the runner stops after its page and lets go of the job
        assertThat(state).as("stopped in the middle of the export").isEqualTo("running");
        assertThat(written).isPositive().isLessThan(sent.values().stream().mapToLong(Integer::longValue).sum());
        vault = new VaultHttps(dir.resolve("vault"), SETTINGS); // on another port: the status path is the same
        Map<String, Object> manifest = manifest(await(token, vault.base + URI.create(status).getPath()));
        assertThat(counts(download(token, manifest))).isEqualTo(new TreeMap<>(sentPlusGroup()));
    }

    /** What the vault holds after the group test added one Group. */
    private static Map<String, Integer> sentPlusGroup() {
        Map<String, Integer> expected = new HashMap<>(sent);
        expected.merge("Group", 1, Integer::sum);
        return expected;
    }
}
