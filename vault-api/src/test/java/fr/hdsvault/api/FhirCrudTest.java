package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Store and read FHIR resources over real HTTPS with HAPI's generic client: every record
 * encrypted, versioned, and checked on the way out.
 */
class FhirCrudTest {

    @TempDir
    static Path dir;
    static Path dataDir;
    static VaultHttps vault;
    static IGenericClient client;
    static final FhirContext FHIR = FhirContext.forR4Cached();

    @BeforeAll
    static void start() throws Exception {
        dataDir = dir.resolve("vault");
        vault = new VaultHttps(dataDir);
        client = clientFor(vault);
    }

    static IGenericClient clientFor(VaultHttps v) throws Exception {
        // HAPI's client runs on Apache HttpClient 4: give it a TLS context that trusts only the vault's local CA.
        javax.net.ssl.SSLContext ssl = VaultHttps.trusting(v.dataDir.resolve("tls").resolve("ca.pem"));
        FHIR.getRestfulClientFactory().setHttpClient(org.apache.http.impl.client.HttpClients.custom().setSSLContext(ssl).build());
        FHIR.getRestfulClientFactory().setServerValidationMode(ca.uhn.fhir.rest.client.api.ServerValidationModeEnum.NEVER);
        IGenericClient c = FHIR.newRestfulGenericClient(v.base + "/fhir");
        String token = TokenIssuer.forHome(VaultHome.prepare(v.dataDir))
                .issue(new TokenIssuer.Grant("dr-house", "practitioner", null, null, Duration.ofMinutes(30)));
        c.registerInterceptor(new BearerTokenAuthInterceptor(token));
        return c;
    }

    @AfterAll
    static void stop() {
        if (vault != null) {
            vault.close();
        }
    }

    static Patient patient(String family) {
        Patient p = new Patient();
        p.addName().setFamily(family).addGiven("Jeanne");
        p.addIdentifier().setSystem("urn:oid:1.2.250.1.213.1.4.8").setValue("2840575" + family.hashCode());
        p.setGender(Enumerations.AdministrativeGender.FEMALE);
        return p;
    }

    @Test
    void createReadUpdateVreadHistoryDelete() {
        MethodOutcome created = client.create().resource(patient("Lefebvre-Crud")).execute();
        assertThat(created.getCreated()).isTrue();
        IdType id = (IdType) created.getId();
        assertThat(id.getVersionIdPart()).isEqualTo("1");

        Patient read = client.read().resource(Patient.class).withId(id.getIdPart()).execute();
        assertThat(read.getNameFirstRep().getFamily()).isEqualTo("Lefebvre-Crud");
        assertThat(read.getMeta().getVersionId()).isEqualTo("1");
        assertThat(read.getMeta().getLastUpdated()).isNotNull();

        read.getNameFirstRep().setFamily("Lefebvre-Crud-2");
        MethodOutcome updated = client.update().resource(read).execute();
        assertThat(updated.getId().getVersionIdPart()).isEqualTo("2");

        Patient v1 = client.read().resource(Patient.class).withIdAndVersion(id.getIdPart(), "1").execute();
        assertThat(v1.getNameFirstRep().getFamily()).isEqualTo("Lefebvre-Crud");
        Bundle history = client.history().onInstance(id.toUnqualifiedVersionless()).returnBundle(Bundle.class).execute();
        assertThat(history.getEntry()).extracting(e -> e.getResource().getMeta().getVersionId()).containsExactly("2", "1");

        // If-Match on a stale version: 412, and nothing changes.
        v1.setId(id.toUnqualifiedVersionless().withVersion("1"));
        assertThatThrownBy(() -> client.update().resource(v1).withId(id.toUnqualifiedVersionless())
                .withAdditionalHeader("If-Match", "W/\"1\"").execute()).isInstanceOf(PreconditionFailedException.class);
        assertThat(client.read().resource(Patient.class).withId(id.getIdPart()).execute().getMeta().getVersionId()).isEqualTo("2");

        client.delete().resourceById(id.toUnqualifiedVersionless()).execute();
        assertThatThrownBy(() -> client.read().resource(Patient.class).withId(id.getIdPart()).execute())
                .isInstanceOf(ResourceGoneException.class);
        assertThat(client.read().resource(Patient.class).withIdAndVersion(id.getIdPart(), "2").execute()
                .getNameFirstRep().getFamily()).isEqualTo("Lefebvre-Crud-2");
        assertThatThrownBy(() -> client.read().resource(Patient.class).withId("no-such-patient").execute())
                .isInstanceOf(ResourceNotFoundException.class);
    }

    @Test
    void updateWithAClientIdCreatesAndObservationsJoinTheirPatientsCompartment() {
        Patient p = patient("Girard-Client");
        p.setId("client-chosen-id-1");
        MethodOutcome created = client.update().resource(p).execute();
        assertThat(created.getCreated()).isTrue();
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().setText("heart rate");
        o.setSubject(new Reference("Patient/client-chosen-id-1"));
        IdType oid = (IdType) client.create().resource(o).execute().getId();
        assertThat(client.read().resource(Observation.class).withId(oid.getIdPart()).execute().getSubject().getReference())
                .isEqualTo("Patient/client-chosen-id-1");
    }

    @Test
    void xmlWorksLikeJsonAndBadInputIsAnOperationOutcome() throws Exception {
        String token = TokenIssuer.forHome(VaultHome.prepare(dataDir))
                .issue(new TokenIssuer.Grant("dr", "practitioner", null, null, Duration.ofMinutes(5)));
        java.net.http.HttpRequest.Builder post = java.net.http.HttpRequest.newBuilder(java.net.URI.create(vault.base + "/fhir/Patient"))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(20));
        String xml = "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"Xml-Durand\"/></name></Patient>";
        var created = vault.client.send(post.copy().header("Content-Type", "application/fhir+xml").header("Accept", "application/fhir+xml")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(xml)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.body()).contains("<family value=\"Xml-Durand\"/>");
        var malformed = vault.client.send(post.copy().header("Content-Type", "application/fhir+xml")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("<Patient xmlns=")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("OperationOutcome");
        byte[] huge = new byte[33 * 1024 * 1024];
        java.util.Arrays.fill(huge, (byte) ' ');
        var oversized = vault.client.send(post.copy().header("Content-Type", "application/fhir+json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(huge)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(oversized.statusCode()).isEqualTo(413);
        assertThat(oversized.body()).contains("OperationOutcome").contains("exceeds the limit");
        var badId = vault.get("/fhir/Patient/not_a_valid_id!", token);
        assertThat(badId.statusCode()).isEqualTo(400);
    }

    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void refusedInputDoesNotReachTheLogs(org.springframework.boot.test.system.CapturedOutput output) throws Exception {
        String token = TokenIssuer.forHome(VaultHome.prepare(dataDir))
                .issue(new TokenIssuer.Grant("dr", "practitioner", null, null, Duration.ofMinutes(5)));
        String body = "{\"resourceType\":\"Patient\",\"birthDate\":\"Secret-Value-4242\"}";
        var refused = vault.client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(vault.base + "/fhir/Patient"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/fhir+json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(output.getAll()).doesNotContain("Secret-Value-4242");
    }

    @Test
    void noPatientValueIsWrittenInClearOnDisk() throws IOException {
        String family = "Zyxwvutsrq";
        String id = client.create().resource(patient(family)).execute().getId().getIdPart();
        try (Stream<Path> files = Files.walk(dataDir)) {
            List<Path> leaking = files.filter(Files::isRegularFile).filter(f -> contains(f, family)).toList();
            assertThat(leaking).as("files holding the family name in clear").isEmpty();
        }
        // Object names are opaque: no resource id, no type, in any object's name.
        try (Stream<Path> objects = Files.walk(dataDir.resolve("s3"))) {
            assertThat(objects.map(dataDir::relativize).map(Path::toString))
                    .noneMatch(name -> name.contains(id) || name.contains("Patient"));
        }
    }

    static boolean contains(Path file, String text) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aRecordAlteredOnDiskFailsLoudlyAndOthersStillRead() throws Exception {
        IdType victim = (IdType) client.create().resource(patient("Victime")).execute().getId();
        IdType bystander = (IdType) client.create().resource(patient("Temoin")).execute().getId();
        // The vault caches the ciphertext it wrote and read (RecordObjects): to find the victim's object by altering
        // candidates one by one, every read must go to the store, so the vault restarts without its cache.
        vault.close();
        vault = new VaultHttps(dataDir, java.util.Map.of("vault.cache.record-objects", "0"));
        client = clientFor(vault);
        Path objects = dataDir.resolve("s3").resolve("objects").resolve(fr.hdsvault.api.storage.StoresProperties.Role.PRIMARY.defaultBucket());
        // Find the victim's object: the newest file whose flip breaks only the victim.
        List<Path> candidates;
        try (Stream<Path> files = Files.walk(objects)) {
            candidates = files.filter(Files::isRegularFile).filter(f -> !f.toString().contains("/.")).toList();
        }
        Path victimFile = null;
        for (Path f : candidates) {
            byte[] b = Files.readAllBytes(f);
            b[b.length - 5] ^= 1;
            Files.write(f, b);
            boolean broken;
            try {
                client.read().resource(Patient.class).withId(victim.getIdPart()).execute();
                broken = false;
            } catch (InternalErrorException e) {
                broken = true;
                assertThat(e.getMessage()).contains("failed its integrity check").doesNotContain("Victime");
            }
            if (broken) {
                victimFile = f;
                break;
            }
            b[b.length - 5] ^= 1;
            Files.write(f, b);
        }
        assertThat(victimFile).as("the altered object was detected").isNotNull();
        assertThat(client.read().resource(Patient.class).withId(bystander.getIdPart()).execute()
                .getNameFirstRep().getFamily()).isEqualTo("Temoin");
        // With the cache (the default), after a restart: refused on every read, since a damaged object never enters it.
        vault.close();
        vault = new VaultHttps(dataDir);
        client = clientFor(vault);
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> client.read().resource(Patient.class).withId(victim.getIdPart()).execute())
                    .isInstanceOf(InternalErrorException.class).hasMessageContaining("failed its integrity check");
        }
        assertThat(client.read().resource(Patient.class).withId(bystander.getIdPart()).execute()
                .getNameFirstRep().getFamily()).isEqualTo("Temoin");
    }

    @Test
    void everythingReadsBackAfterARestart() throws Exception {
        IdType id = (IdType) client.create().resource(patient("Durable")).execute().getId();
        vault.close();
        vault = new VaultHttps(dataDir);
        client = clientFor(vault);
        assertThat(client.read().resource(Patient.class).withId(id.getIdPart()).execute().getNameFirstRep().getFamily())
                .isEqualTo("Durable");
    }
}
