package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fr.hdsvault.api.fhir.StoredJsonReads;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.web.servlet.FilterRegistrationBean;

/**
 * Plain reads answered from the stored JSON say exactly what HAPI's path says: the same body,
 * byte for byte, and the same headers, for every resource of a Synthea bundle; everything that is
 * not a plain, permitted read of an intact record is left to HAPI and answered as before
 * (another patient's record, a deleted one, XML, a conditional read, a search parameter); and each
 * read served is audited.
 */
class StoredJsonReadsTest {

    static final Pattern LOCATION = Pattern.compile("\"location\"\\s*:\\s*\"([A-Za-z]+)/([^/\"]+)/_history/\\d+\"");

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String practitioner;
    static StoredJsonReads fastPath;
    static final List<String> created = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Path bundle;
        try (var files = Files.list(SyntheaTransactionTest.SAMPLES)) {
            bundle = files.filter(f -> f.toString().endsWith(".json.gz")).sorted().findFirst().orElse(null);
        } catch (java.io.IOException e) {
            bundle = null;
        }
        if (bundle == null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run this test: no Synthea samples at " + SyntheaTransactionTest.SAMPLES);
        }
        assumeTrue(bundle != null, "no Synthea samples: test skipped");
        vault = new VaultHttps(dir.resolve("vault"));
        practitioner = TestTokens.ofVault(vault.dataDir).sign("dr-fast", "practitioner", "user/*.cruds", null);
        String json;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(bundle))) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        HttpResponse<String> r = vault.send("POST", "/fhir", practitioner, json);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Matcher m = LOCATION.matcher(r.body());
        while (m.find()) {
            created.add(m.group(1) + "/" + m.group(2));
        }
        @SuppressWarnings("unchecked")
        FilterRegistrationBean<StoredJsonReads> registration = vault.context.getBean("storedJsonReads", FilterRegistrationBean.class);
        fastPath = registration.getFilter();
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    @Test
    void everyResourceReadsTheSameOnBothPaths() throws Exception {
        assertThat(created).hasSizeGreaterThan(50);
        long before = fastPath.served();
        for (String reference : created) {
            HttpResponse<String> fast = vault.send("GET", "/fhir/" + reference, practitioner, null);
            HttpResponse<String> hapi = vault.send("GET", "/fhir/" + reference + "?_format=json", practitioner, null);
            assertThat(fast.statusCode()).as(reference).isEqualTo(200);
            assertThat(hapi.statusCode()).as(reference).isEqualTo(200);
            assertThat(fast.body()).as(reference).isEqualTo(hapi.body());
            for (String header : List.of("content-type", "etag", "content-location", "last-modified", "x-powered-by",
                    "strict-transport-security", "cache-control", "content-security-policy")) {
                assertThat(fast.headers().firstValue(header)).as("%s of %s", header, reference)
                        .isPresent().isEqualTo(hapi.headers().firstValue(header));
            }
            assertThat(fast.headers().firstValue("x-request-id")).isPresent();
        }
        assertThat(fastPath.served() - before).as("reads answered from the stored JSON").isEqualTo(created.size());
        // A client's well-formed request id is echoed, as HAPI does.
        HttpResponse<String> named = vault.send("GET", "/fhir/" + created.get(0), practitioner, null, "X-Request-ID", "abcDEF0123456789");
        assertThat(named.headers().firstValue("x-request-id")).contains("abcDEF0123456789");
    }

    @Test
    void whatIsNotAPlainPermittedReadIsLeftToHapiAndAnsweredAsBefore() throws Exception {
        String patient = created.stream().filter(c -> c.startsWith("Patient/")).findFirst().orElseThrow();
        String other = created.stream().filter(c -> !c.startsWith("Patient/")).findFirst().orElseThrow();
        long before = fastPath.served();
        String stranger = TestTokens.ofVault(vault.dataDir).sign("someone", "patient", "patient/*.rs", "not-this-patient");
        HttpResponse<String> refused = vault.send("GET", "/fhir/" + patient, stranger, null);
        assertThat(refused.statusCode()).isEqualTo(404);
        assertThat(refused.body()).contains("OperationOutcome");
        HttpResponse<String> xml = vault.send("GET", "/fhir/" + other, practitioner, null, "Accept", "application/fhir+xml");
        assertThat(xml.statusCode()).isEqualTo(200);
        assertThat(xml.body()).startsWith("<");
        HttpResponse<String> notModified = vault.send("GET", "/fhir/" + other, practitioner, null, "If-None-Match", "W/\"1\"");
        assertThat(notModified.statusCode()).isEqualTo(304);
        HttpResponse<String> unknown = vault.send("GET", "/fhir/Patient/no-such-patient", practitioner, null);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("OperationOutcome");
        HttpResponse<String> noToken = vault.send("GET", "/fhir/" + other, null, null);
        assertThat(noToken.statusCode()).isEqualTo(401);
        assertThat(fastPath.served()).as("none of these answered from the stored JSON").isEqualTo(before);

        HttpResponse<String> made = vault.send("POST", "/fhir/Patient", practitioner, "{\"resourceType\":\"Patient\"}");
        String doomed = made.headers().firstValue("Location").orElseThrow().replaceAll(".*/fhir/(Patient/[^/]+)/.*", "$1");
        HttpResponse<String> deleted = vault.send("DELETE", "/fhir/" + doomed, practitioner, null);
        assertThat(deleted.statusCode()).isIn(200, 204);
        HttpResponse<String> gone = vault.send("GET", "/fhir/" + doomed, practitioner, null);
        assertThat(gone.statusCode()).isEqualTo(410);
        assertThat(gone.body()).contains("OperationOutcome");
        assertThat(fastPath.served()).isEqualTo(before);
    }

    @Test
    void aReadAnsweredFromTheStoredJsonIsAuditedWithItsPatient() throws Exception {
        String patient = created.stream().filter(c -> c.startsWith("Patient/")).findFirst().orElseThrow();
        String auditor = TestTokens.ofVault(vault.dataDir).sign("aud-fast", "auditor", null, null);
        String query = "/fhir/AuditEvent?entity=" + patient + "&action=R&_count=1000";
        int before = count(vault.send("GET", query, auditor, null).body());
        long served = fastPath.served();
        assertThat(vault.send("GET", "/fhir/" + patient, practitioner, null).statusCode()).isEqualTo(200);
        assertThat(fastPath.served()).isEqualTo(served + 1);
        HttpResponse<String> after = vault.send("GET", query, auditor, null);
        assertThat(count(after.body())).as(after.body()).isEqualTo(before + 1);
        assertThat(after.body()).contains("dr-fast");
    }

    private static int count(String bundle) {
        Matcher m = Pattern.compile("\"resourceType\"\\s*:\\s*\"AuditEvent\"").matcher(bundle);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
