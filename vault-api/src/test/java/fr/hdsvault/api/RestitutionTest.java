package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.cli.ImportCommand;
import fr.hdsvault.api.cli.RestitutionCommand;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.Visibility;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine;

/**
 * Reversibility end to end: {@code vault restitution} writes the archive of vault A (Synthea
 * patients, a Binary, a resource at its second version, a deleted one), {@code restitution verify}
 * accepts it and refuses it once altered, and {@code vault import --preserve-meta} of its data
 * into an empty vault B gives every resource identical: id, version, lastUpdated, content.
 * Importing again changes nothing; bad lines are refused by line number, the rest goes in.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestitutionTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();

    @TempDir
    static Path dir;
    static VaultHttps a;
    static VaultHttps b;
    static Path archive;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isDirectory(SyntheaTransactionTest.SAMPLES), "no Synthea samples: test skipped");
        a = new VaultHttps(dir.resolve("a"), Map.of("vault.bulk.retry-after", "1s"));
        var client = FhirCrudTest.clientFor(a);
        for (Path file : SyntheaTransactionTest.bundles().subList(0, 4)) {
            client.transaction().withBundle(SyntheaTransactionTest.read(file)).execute();
        }
        String practitioner = TestTokens.ofVault(a.dataDir).sign("dr-1", "practitioner", "user/*.cruds", null);
        HttpResponse<String> binary = a.send("POST", "/fhir/Binary", practitioner,
                "{\"resourceType\":\"Binary\",\"contentType\":\"application/pdf\",\"data\":\"JVBERi0xLjQKJcfsj6IK\"}");
        assertThat(binary.statusCode()).isEqualTo(201);
        HttpResponse<String> patient = a.send("POST", "/fhir/Patient", practitioner,
                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Durand\"}]}");
        String id = patient.headers().firstValue("Location").orElseThrow().replaceAll(".*/Patient/([^/]+)/.*", "$1");
        assertThat(a.send("PUT", "/fhir/Patient/" + id, practitioner, "{\"resourceType\":\"Patient\",\"id\":\"" + id
                + "\",\"name\":[{\"family\":\"Durand\",\"given\":[\"Alice\"]}]}").statusCode()).isEqualTo(200);
        HttpResponse<String> gone = a.send("POST", "/fhir/Patient", practitioner, "{\"resourceType\":\"Patient\",\"active\":false}");
        assertThat(a.send("DELETE", "/fhir/Patient/" + gone.headers().firstValue("Location").orElseThrow()
                .replaceAll(".*/Patient/([^/]+)/.*", "$1"), practitioner, null).statusCode()).isEqualTo(204);
        b = new VaultHttps(dir.resolve("b"));
        archive = dir.resolve("archive");
    }

    @AfterAll
    static void stop() {
        for (VaultHttps v : new VaultHttps[] {a, b}) {
            if (v != null) {
                v.close();
            }
        }
    }

    static int cli(Object command, StringWriter out, String... args) {
        return new CommandLine(command).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(out, true)).execute(args);
    }

    /** Every current resource of a vault, as its stored JSON (id, meta and content), by Type/id. */
    static Map<String, String> everything(VaultHttps vault) {
        VaultRepository repository = vault.context.getBean(VaultRepository.class);
        Map<String, String> out = new TreeMap<>();
        vault.context.getBean(JdbcTemplate.class).query("select resource_type, resource_id from resource_current where deleted = false",
                rs -> {
                    String type = rs.getString(1);
                    String id = rs.getString(2);
                    out.put(type + "/" + id, new String(repository.readStored(type, id, Visibility.ALL).orElseThrow().json(),
                            StandardCharsets.UTF_8));
                });
        return out;
    }

    @Test
    @Order(1)
    void theArchiveHoldsEveryResourceAndTheTrailAndVerifiesOffline() throws Exception {
        StringWriter out = new StringWriter();
        int exit = cli(new RestitutionCommand(), out, "--data-dir", a.dataDir.toString(), "--url", a.base, "--out", archive.toString());
        assertThat(exit).as(out.toString()).isZero();
        assertThat(out.toString()).contains("export: ").contains("restitution archive written");
        long resources = 0;
        try (Stream<Path> files = Files.list(archive.resolve("data"))) {
            for (Path f : files.toList()) {
                resources += Files.readAllLines(f).stream().filter(l -> !l.isBlank()).count();
            }
        }
        assertThat(resources).isEqualTo(everything(a).size());
        assertThat(Files.readString(archive.resolve("data").resolve(find("Binary")))).contains("JVBERi0xLjQKJcfsj6IK");

        Path key = a.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE);
        StringWriter verify = new StringWriter();
        assertThat(cli(new RestitutionCommand(), verify, "verify", archive.toString(), "--public-key", key.toString()))
                .as(verify.toString()).isZero();
        assertThat(verify.toString()).contains("restitution archive verified");
    }

    static String find(String type) throws Exception {
        try (Stream<Path> files = Files.list(archive.resolve("data"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("-" + type + ".ndjson")).findFirst().orElseThrow();
        }
    }

    @Test
    @Order(2)
    void anAlteredArchiveIsRefusedWhateverWasChanged() throws Exception {
        Path key = a.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE);
        List<String> changes = List.of("data file", "manifest", "audit event", "truncated trail", "extra file", "other key");
        for (String change : changes) {
            Path copy = dir.resolve("altered-" + change.replace(' ', '-'));
            copyTree(archive, copy);
            Path verifyKey = key;
            switch (change) {
                case "data file" -> {
                    Path f = copy.resolve("data").resolve(find("Patient"));
                    Files.writeString(f, Files.readString(f).replaceFirst("\"family\":\"", "\"family\":\"X"));
                }
                case "manifest" -> {
                    Path m = copy.resolve("manifest.json");
                    Files.writeString(m, Files.readString(m).replaceFirst("\"createdAt\" : \"", "\"createdAt\" : \"1"));
                }
                case "audit event", "truncated trail" -> {
                    // Even with the manifest rewritten to the altered file and attested again (an insider who can make the
                    // vault sign), the trail's rows no longer rebuild the root of the checkpoint signed when they were written.
                    Path events = copy.resolve("audit").resolve("events.ndjson");
                    List<String> lines = new ArrayList<>(Files.readAllLines(events));
                    if (change.equals("audit event")) {
                        lines.set(1, lines.get(1).replaceFirst("\"outcome\":0", "\"outcome\":4"));
                    } else {
                        lines.remove(lines.size() - 1);
                    }
                    Files.write(events, lines);
                    reattest(copy, "audit/events.ndjson");
                }
                case "extra file" -> Files.writeString(copy.resolve("data").resolve("9999-Patient.ndjson"), "{}\n");
                case "other key" -> verifyKey = b.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE);
                default -> throw new IllegalStateException(change);
            }
            StringWriter out = new StringWriter();
            assertThat(cli(new RestitutionCommand(), out, "verify", copy.toString(), "--public-key", verifyKey.toString()))
                    .as(change + ": " + out).isNotZero();
            assertThat(out.toString()).as(change).contains("NOT verified");
        }
    }

    @Test
    @Order(3)
    void importingTheArchiveIntoAnEmptyVaultGivesEveryResourceIdenticalAndAgainChangesNothing() throws Exception {
        StringWriter out = new StringWriter();
        int exit = cli(new ImportCommand(), out, "--data-dir", b.dataDir.toString(), "--url", b.base, "--preserve-meta",
                archive.resolve("data").toString());
        assertThat(exit).as(out.toString()).isZero();
        Map<String, String> expected = everything(a);
        assertThat(everything(b)).isEqualTo(expected);
        // Each patient got its import event; a search in B finds the resources through the rebuilt index.
        JdbcTemplate jdbcB = b.context.getBean(JdbcTemplate.class);
        assertThat(jdbcB.queryForObject("select count(*) from audit_event where subtype = 'bulk-import'", Long.class))
                .isEqualTo(a.context.getBean(JdbcTemplate.class).queryForObject("select count(distinct compartment) from resource_current "
                        + "where deleted = false and compartment like 'Patient/%'", Long.class));
        String patient = expected.keySet().stream().filter(k -> k.startsWith("Patient/")).findFirst().orElseThrow();
        String practitioner = TestTokens.ofVault(b.dataDir).sign("dr-2", "practitioner", "user/*.cruds", null);
        HttpResponse<String> search = b.get("/fhir/Observation?patient=" + patient + "&_count=1000", practitioner);
        assertThat(search.statusCode()).isEqualTo(200);
        long observations = expected.entrySet().stream().filter(e -> e.getKey().startsWith("Observation/")
                && e.getValue().contains("\"reference\":\"" + patient + "\"")).count();
        assertThat(FHIR.newJsonParser().parseResource(Bundle.class, search.body()).getTotal()).isEqualTo((int) observations);

        StringWriter again = new StringWriter();
        assertThat(cli(new ImportCommand(), again, "--data-dir", b.dataDir.toString(), "--url", b.base, "--preserve-meta",
                archive.resolve("data").toString())).as(again.toString()).isZero();
        assertThat(again.toString()).contains("0 imported, " + expected.size() + " unchanged");
        assertThat(everything(b)).isEqualTo(expected);
    }

    @Test
    @Order(4)
    void badLinesAreRefusedByLineNumberAndTheOthersGoIn() throws Exception {
        Path file = dir.resolve("mixed.ndjson");
        Files.writeString(file, String.join("\n",
                "{\"resourceType\":\"Patient\",\"id\":\"mig-1\",\"name\":[{\"family\":\"Moreau\"}]}",
                "{not json",
                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"NoId\"}]}",
                "{\"resourceType\":\"Patient\",\"id\":\"mig-2\",\"unknownElement\":true}",
                "{\"resourceType\":\"AuditEvent\",\"id\":\"a1\"}",
                "{\"resourceType\":\"Observation\",\"id\":\"mig-3\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
                        + "\"subject\":{\"reference\":\"Patient/mig-1\"}}") + "\n");
        StringWriter out = new StringWriter();
        int exit = cli(new ImportCommand(), out, "--data-dir", b.dataDir.toString(), "--url", b.base, file.toString());
        assertThat(exit).as(out.toString()).isEqualTo(1); // some lines refused
        assertThat(out.toString()).contains("mixed.ndjson line 2").contains("mixed.ndjson line 3").contains("mixed.ndjson line 4")
                .contains("mixed.ndjson line 5").contains("2 imported").doesNotContain("NoId").doesNotContain("Moreau");
        VaultRepository repository = b.context.getBean(VaultRepository.class);
        assertThat(repository.readStored("Patient", "mig-1", Visibility.ALL)).isPresent();
        assertThat(repository.compartmentOf("Observation", "mig-3", repository.read("Observation", "mig-3", Visibility.ALL)))
                .isEqualTo("Patient/mig-1");
        assertThat(repository.readStored("Patient", "mig-2", Visibility.ALL)).isEmpty();
    }

    @Test
    @Order(5)
    void aGroupsArchiveHoldsItsPatientsOnlyWithTheirEventsEachProvenInTheSignedTrail() throws Exception {
        List<String> patients = everything(a).keySet().stream().filter(k -> k.startsWith("Patient/")).limit(2).toList();
        String practitioner = TestTokens.ofVault(a.dataDir).sign("dr-1", "practitioner", "user/*.cruds", null);
        HttpResponse<String> created = a.send("POST", "/fhir/Group", practitioner, "{\"resourceType\":\"Group\",\"type\":\"person\","
                + "\"actual\":true,\"member\":[{\"entity\":{\"reference\":\"" + patients.get(0) + "\"}},{\"entity\":{\"reference\":\""
                + patients.get(1) + "\"}}]}");
        assertThat(created.statusCode()).isEqualTo(201);
        String group = created.headers().firstValue("Location").orElseThrow().replaceAll(".*/Group/([^/]+)/.*", "$1");
        // Each member is read once more, so that its trail holds a read by someone else than the import.
        for (String patient : patients) {
            assertThat(a.get("/fhir/" + patient, practitioner).statusCode()).isEqualTo(200);
        }
        Path groupArchive = dir.resolve("group-archive");
        StringWriter out = new StringWriter();
        assertThat(cli(new RestitutionCommand(), out, "--data-dir", a.dataDir.toString(), "--url", a.base, "--out",
                groupArchive.toString(), "--group", group)).as(out.toString()).isZero();

        // The data: the two patients and their compartments, nobody else's.
        Map<String, String> held = everything(a);
        long expected = held.entrySet().stream().filter(e -> patients.contains(e.getKey()) || patients.stream().anyMatch(p ->
                e.getValue().contains("\"reference\":\"" + p + "\""))).filter(e -> !e.getKey().startsWith("Group/")).count();
        long exported = 0;
        try (Stream<Path> files = Files.list(groupArchive.resolve("data"))) {
            for (Path f : files.toList()) {
                for (String line : Files.readAllLines(f)) {
                    exported++;
                    if (f.getFileName().toString().endsWith("-Patient.ndjson")) {
                        assertThat(patients).anyMatch(p -> line.contains("\"id\":\"" + p.substring("Patient/".length()) + "\""));
                    }
                }
            }
        }
        assertThat(exported).isEqualTo(expected);

        // The trail: only events that name a member, every one of them, each with a proof; fewer than the whole trail.
        List<String> events = Files.readAllLines(groupArchive.resolve("audit").resolve("events.ndjson"));
        long naming = a.context.getBean(JdbcTemplate.class).queryForObject("select count(*) from audit_event", Long.class);
        assertThat(events).isNotEmpty().allSatisfy(e -> assertThat(patients).anyMatch(p -> e.contains(p)));
        assertThat(events).allSatisfy(e -> assertThat(e).contains("\"inclusionProof\""));
        assertThat((long) events.size()).isLessThan(naming);
        for (String patient : patients) {
            assertThat(events).as(patient).anyMatch(e -> e.contains(patient) && e.contains("\"subtype\":\"read\""));
        }
        Path key = a.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE);
        StringWriter verify = new StringWriter();
        assertThat(cli(new RestitutionCommand(), verify, "verify", groupArchive.toString(), "--public-key", key.toString()))
                .as(verify.toString()).isZero();
        assertThat(verify.toString()).contains(events.size() + " audit events of the group's patients are each proven");

        // An event altered, or its proof, even with the manifest attested again: refused.
        for (String change : List.of("event", "proof")) {
            Path copy = dir.resolve("group-altered-" + change);
            copyTree(groupArchive, copy);
            Path file = copy.resolve("audit").resolve("events.ndjson");
            List<String> lines = new ArrayList<>(events);
            String line = lines.get(0);
            lines.set(0, change.equals("event") ? line.replaceFirst("\"outcome\":0", "\"outcome\":4")
                    : line.replaceFirst("\"inclusionProof\":\\[\"[^\"]*\",?", "\"inclusionProof\":["));
            assertThat(lines.get(0)).isNotEqualTo(line);
            Files.write(file, lines);
            reattest(copy, "audit/events.ndjson");
            StringWriter refused = new StringWriter();
            assertThat(cli(new RestitutionCommand(), refused, "verify", copy.toString(), "--public-key", key.toString()))
                    .as(change + ": " + refused).isNotZero();
            assertThat(refused.toString()).contains("is not in the signed trail");
        }
    }

    /** Rewrites the manifest's entry of {@code name} to the file as it now is, and has vault A attest the new manifest. */
    @SuppressWarnings("unchecked")
    static void reattest(Path copy, String name) throws Exception {
        tools.jackson.databind.json.JsonMapper json = tools.jackson.databind.json.JsonMapper.builder().build();
        Path manifestFile = copy.resolve("manifest.json");
        Map<String, Object> manifest = json.readValue(Files.readAllBytes(manifestFile), Map.class);
        for (Map<String, Object> f : (List<Map<String, Object>>) manifest.get("files")) {
            if (name.equals(f.get("path"))) {
                byte[] bytes = Files.readAllBytes(copy.resolve(name));
                f.put("sha256", java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes)));
                f.put("bytes", bytes.length);
            }
        }
        byte[] rewritten = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
        Files.write(manifestFile, rewritten);
        String operator = TestTokens.ofVault(a.dataDir).sign("ops-1", "operator", null, null);
        HttpResponse<String> attested = a.client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(a.base
                        + "/admin/restitution/attest")).header("Authorization", "Bearer " + operator)
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(rewritten)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(attested.statusCode()).isEqualTo(200);
        Files.writeString(copy.resolve("attestation.json"), attested.body());
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
