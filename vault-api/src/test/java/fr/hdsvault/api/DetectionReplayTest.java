package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The detection rules on replayed traffic: Synthea patients loaded, a hundred practitioners (each
 * with its Practitioner resource, named in its token's fhirUser) reading the charts of the two or
 * three patients assigned to it as a clinical application does (the patient, vital signs,
 * conditions, encounters), and among them agents planted to misuse the vault, one per rule. Every
 * planted case is alerted by its rule; at most 1 % of the normal agents get any alert (here: none
 * may). Thresholds are scaled to a dozen patients, as a host scales them to its own baseline; the
 * whole test runs "off hours" (the shift is set around now), so that rule is judged too.
 * Bulk exports above a volume are planted in BulkExportTest, backend clients in DetectionTest.
 */
class DetectionReplayTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final int PATIENTS = 12;
    static final int NORMAL_AGENTS = 100;
    static final List<String> FAMILIES = List.of("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
            "Moreau", "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard");
    static final List<String> GIVEN = List.of("Camille", "Louise", "Hugo", "Jade", "Lucas", "Emma", "Nathan", "Chloe", "Leo", "Manon");

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static String loader;
    static String auditor;
    static final List<Patient> patients = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        java.time.LocalTime now = java.time.LocalTime.now(java.time.ZoneOffset.UTC).withSecond(0).withNano(0);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("vault.detection.evaluate-every", "1s");
        settings.put("vault.detection.mass-access.patients", "10");
        settings.put("vault.detection.enumeration.refusals", "20");
        settings.put("vault.detection.off-hours.patients", "6");
        settings.put("vault.detection.off-hours.start", now.minusHours(1).toString());
        settings.put("vault.detection.off-hours.end", now.plusHours(1).toString());
        settings.put("vault.detection.off-hours.zone", "UTC");
        settings.put("vault.detection.break-glass.patients", "2");
        settings.put("vault.detection.break-glass.care-within", "3s");
        settings.put("vault.security.break-glass.enabled", "true");
        settings.put("vault.http.trusted-proxies", "127.0.0.1/32");
        settings.put("vault.detection.sensitive-patients", "replay-listed");
        vault = new VaultHttps(dir.resolve("vault"), settings);
        tokens = TestTokens.ofVault(vault.dataDir);
        loader = tokens.sign("loader", "practitioner", "user/*.cruds", null);
        auditor = tokens.sign("security-officer", "auditor", null, null);
        var client = FhirCrudTest.clientFor(vault);
        for (Path file : SyntheaTransactionTest.bundles().subList(0, PATIENTS)) {
            client.transaction().withBundle(SyntheaTransactionTest.read(file)).execute();
        }
        HttpResponse<String> found = vault.get("/fhir/Patient?_count=100", loader);
        FHIR.newJsonParser().parseResource(Bundle.class, found.body()).getEntry().forEach(e -> patients.add((Patient) e.getResource()));
        assertThat(patients).hasSize(PATIENTS);
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    @Test
    void everyPlantedMisuseIsAlertedAndAtMostOnePercentOfNormalAgents() throws Exception {
        // One patient the security officer listed, one whose record is labelled restricted: normal agents may read them too.
        String listed = "replay-listed";
        assertThat(vault.send("PUT", "/fhir/Patient/" + listed, loader, "{\"resourceType\":\"Patient\",\"id\":\"" + listed + "\"}")
                .statusCode()).isEqualTo(201);
        String labelled = created("Patient", "{\"resourceType\":\"Patient\",\"meta\":{\"security\":[{\"system\":"
                + "\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\",\"code\":\"V\"}]}}");

        // The normal traffic: each practitioner reads the charts of its own two or three patients, in parallel.
        Random random = new Random(19);
        Map<String, List<String>> charts = new TreeMap<>();
        Map<String, String> agentTokens = new LinkedHashMap<>();
        for (int i = 0; i < NORMAL_AGENTS; i++) {
            String agent = String.format("dr-replay-%03d", i);
            String practitioner = created("Practitioner", "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\""
                    + FAMILIES.get(random.nextInt(FAMILIES.size())) + "\",\"given\":[\"" + GIVEN.get(random.nextInt(GIVEN.size())) + "\"]}]}");
            List<String> mine = new ArrayList<>();
            int n = 2 + random.nextInt(2);
            while (mine.size() < n) {
                String p = id(patients.get(1 + random.nextInt(PATIENTS - 1)));
                if (!mine.contains(p)) {
                    mine.add(p);
                }
            }
            charts.put(agent, mine);
            agentTokens.put(agent, tokens.sign(agent, "practitioner", "user/*.cruds", null,
                    c -> c.claim("fhirUser", "Practitioner/" + practitioner)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> reads = new ArrayList<>();
        for (var chart : charts.entrySet()) {
            String token = agentTokens.get(chart.getKey());
            reads.add(pool.submit(() -> {
                for (String p : chart.getValue()) {
                    for (String path : List.of("/fhir/Patient/" + p, "/fhir/Observation?patient=" + p + "&category=vital-signs&_count=20",
                            "/fhir/Condition?patient=" + p, "/fhir/Encounter?patient=" + p + "&_count=20")) {
                        HttpResponse<String> r = vault.get(path, token);
                        assertThat(r.statusCode()).as(path + " " + r.body()).isEqualTo(200);
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : reads) {
            f.get();
        }
        pool.shutdown();

        // The planted misuse, one agent per rule.
        Map<String, String> planted = new LinkedHashMap<>(); // agent -> the rule that must alert it
        String mass = tokens.sign("mallory-mass", "practitioner", "user/*.cruds", null);
        patients.forEach(p -> read(mass, "Patient/" + id(p)));
        planted.put("mallory-mass", "mass-access");

        String night = tokens.sign("mallory-night", "practitioner", "user/*.cruds", null);
        patients.subList(1, 9).forEach(p -> read(night, "Patient/" + id(p)));
        planted.put("mallory-night", "off-hours");

        String enumerating = tokens.sign("mallory-enum", "practitioner", "user/*.cruds", null);
        for (int i = 0; i < 25; i++) {
            assertThat(vault.get("/fhir/Patient/" + UUID.randomUUID(), enumerating).statusCode()).isEqualTo(404);
        }
        planted.put("mallory-enum", "enumeration");

        String inOwnContext = tokens.sign("mallory-bg", "practitioner", "launch/patient patient/*.cruds", id(patients.get(1)));
        breakGlass(inOwnContext, id(patients.get(2)), "patient unconscious in the emergency room");
        planted.put("mallory-bg", "break-glass");
        String noCare = "mallory-bg"; // and it records nothing afterwards

        String shortReason = tokens.sign("mallory-bgr", "practitioner", "launch/patient patient/*.cruds", id(patients.get(1)));
        breakGlass(shortReason, id(patients.get(3)), "ok");
        planted.put("mallory-bgr", "break-glass-reason");

        String often = tokens.sign("mallory-bgf", "practitioner", "launch/patient patient/*.cruds", id(patients.get(1)));
        for (int i = 4; i < 7; i++) {
            breakGlass(often, id(patients.get(i)), "consultation requested by the emergency team");
        }
        planted.put("mallory-bgf", "break-glass-frequent");

        read(tokens.sign("mallory-listed", "practitioner", "user/*.cruds", null), "Patient/" + listed);
        planted.put("mallory-listed", "sensitive-patient");
        read(tokens.sign("mallory-label", "practitioner", "user/*.cruds", null), "Patient/" + labelled);
        planted.put("mallory-label", "sensitive-patient");

        Patient relative = patients.get(7);
        String cousin = created("Practitioner", "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\""
                + relative.getNameFirstRep().getFamily() + "\",\"given\":[\"Zoltan\"]}]}");
        read(tokens.sign("mallory-family", "practitioner", "user/*.cruds", null, c -> c.claim("fhirUser", "Practitioner/" + cousin)),
                "Patient/" + id(relative));
        planted.put("mallory-family", "same-family-name");

        Patient himself = patients.get(8);
        String twin = created("Practitioner", "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\""
                + himself.getNameFirstRep().getFamily() + "\",\"given\":[\"" + himself.getNameFirstRep().getGivenAsSingleString() + "\"]}]}");
        read(tokens.sign("mallory-self", "practitioner", "user/*.cruds", null, c -> c.claim("fhirUser", "Practitioner/" + twin)),
                "Patient/" + id(himself));
        planted.put("mallory-self", "self-access");

        String stolen = tokens.sign("mallory-replay", "practitioner", "user/*.cruds", null);
        for (String address : List.of("192.0.2.10", "198.51.100.23")) {
            assertThat(vault.send("GET", "/fhir/Patient/" + id(patients.get(9)), stolen, null, "X-Forwarded-For", address).statusCode())
                    .isEqualTo(200);
        }
        planted.put("mallory-replay", "token-addresses");

        assertThat(vault.send("POST", "/admin/keys/root/rotate", tokens.sign("mallory-ops", "operator", null, null), null).statusCode())
                .isEqualTo(200);
        planted.put("mallory-ops", "privileged-change");

        // Every planted case alerted by its rule (the detector runs off the request path; break-glass care is judged after 3 s).
        Map<String, Set<String>> alerted = new TreeMap<>();
        long deadline = System.nanoTime() + 30_000_000_000L;
        boolean all;
        do {
            Thread.sleep(500);
            alerted = alertsByAgent();
            Map<String, Set<String>> a = alerted;
            all = planted.entrySet().stream().allMatch(p -> a.getOrDefault(p.getKey(), Set.of()).contains(p.getValue()))
                    && alerted.getOrDefault(noCare, Set.of()).contains("break-glass-no-care");
        } while (!all && System.nanoTime() < deadline);
        for (var p : planted.entrySet()) {
            assertThat(alerted.getOrDefault(p.getKey(), Set.of())).as(p.getKey() + " alerted by " + p.getValue()).contains(p.getValue());
        }
        assertThat(alerted.get(noCare)).contains("break-glass-no-care");

        // The normal agents: at most 1 % alerted.
        Set<String> normalAlerted = alerted.keySet().stream().filter(charts::containsKey).collect(Collectors.toCollection(TreeSet::new));
        System.out.printf("replay: %d normal agents, %d alerted (%s); %d planted agents, all alerted: %s%n", NORMAL_AGENTS,
                normalAlerted.size(), normalAlerted.stream().map(a -> a + "=" + alertsByAgent().get(a)).toList(), planted.size(), alerted);
        assertThat(normalAlerted.size()).as("normal agents alerted: " + normalAlerted).isLessThanOrEqualTo(NORMAL_AGENTS / 100);
    }

    static Map<String, Set<String>> alertsByAgent() {
        try {
            HttpResponse<String> r = vault.get("/fhir/AuditEvent?subtype=urn:hds-vault:alert%7C&_count=1000", auditor);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            Map<String, Set<String>> byAgent = new TreeMap<>();
            for (var e : FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getEntry()) {
                AuditEvent alert = (AuditEvent) e.getResource();
                byAgent.computeIfAbsent(alert.getAgentFirstRep().getWho().getIdentifier().getValue(), k -> new TreeSet<>())
                        .add(alert.getSubtypeFirstRep().getCode());
            }
            return byAgent;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void read(String token, String reference) {
        try {
            HttpResponse<String> r = vault.get("/fhir/" + reference, token);
            assertThat(r.statusCode()).as(reference + " " + r.body()).isEqualTo(200);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void breakGlass(String token, String patient, String reason) throws Exception {
        HttpResponse<String> r = vault.send("GET", "/fhir/Patient/" + patient, token, null, "X-Break-Glass-Reason", reason);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    static String created(String type, String json) throws Exception {
        return vault.create(type, json, loader);
    }

    static String id(Patient p) {
        return p.getIdElement().getIdPart();
    }
}
