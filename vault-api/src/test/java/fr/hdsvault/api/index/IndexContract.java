package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static fr.hdsvault.api.security.Visibility.ALL;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import fr.hdsvault.api.security.Visibility;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceVersionConflictException;
import fr.hdsvault.api.resources.ResourceSearch;
import fr.hdsvault.api.resources.SearchCriteria;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.resources.VersionRef;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.KekRecord;
import fr.hdsvault.crypto.KeyDestroyedException;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The index (KEK registry and resource versions) on a real database; run on H2 and on PostgreSQL. */
abstract class IndexContract {

    @TempDir
    static Path dir;
    static EmbeddedS3Server s3;
    static S3ObjectStore store;

    JdbcTemplate jdbc;
    JdbcKekRegistry registry;
    Keyring keyring;
    VaultRepository repository;
    ResourceSearch search;

    abstract DataSource dataSource();

    @BeforeAll
    static void startStore() {
        s3 = EmbeddedS3Server.start(dir.resolve("s3"));
        store = new S3ObjectStore(S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par"));
        store.createBucket("objects", BucketOptions.plain());
    }

    @AfterAll
    static void stopStore() {
        store.close();
        s3.close();
    }

    void open() {
        if (jdbc != null) {
            return;
        }
        DataSource ds = dataSource();
        jdbc = new JdbcTemplate(ds);
        registry = new JdbcKekRegistry(jdbc);
        keyring = new Keyring(Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root-" + System.nanoTime() + ".p12"),
                "test".toCharArray()), registry);
        repository = new VaultRepository(FhirContext.forR4Cached(), jdbc,
                new TransactionTemplate(new DataSourceTransactionManager(ds)), new EnvelopeCipher(keyring),
                new fr.hdsvault.api.resources.RecordObjects(store, "objects", 0), "default", Clock.systemUTC(),
                new fr.hdsvault.api.resources.SearchTokens(FhirContext.forR4Cached(),
                        new fr.hdsvault.crypto.index.BlindIndex(keyring.hmacKey("blind-index:default"))));
        search = new ResourceSearch(jdbc, "default");
    }

    /** The version ids of a history, newest first. */
    private List<Long> versions(String type, String id, Visibility visibility) {
        return search.history(type, id, ResourceSearch.Window.ALL, visibility).stream().map(VersionRef::version).toList();
    }

    @Test
    void theRegistryInsertsOnceFindsPagesAndComparesAndSets() {
        open();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        KekRecord v1 = new KekRecord("kek-a", 1, 1, new byte[] {1, 2, 3}, now, null);
        assertThat(registry.insert(v1)).isTrue();
        assertThat(registry.insert(v1)).as("same id and version twice").isFalse();
        registry.insert(new KekRecord("kek-a", 2, 1, new byte[] {4}, now, null));
        registry.insert(new KekRecord("kek-b", 1, 1, new byte[] {5}, now, null));
        assertThat(registry.find("kek-a", 1).orElseThrow().wrappedKey()).containsExactly(1, 2, 3);
        assertThat(registry.find("kek-a", 1).orElseThrow().createdAt()).isEqualTo(now);
        assertThat(registry.latest("kek-a").orElseThrow().version()).isEqualTo(2);
        assertThat(registry.latest("kek-z")).isEmpty();
        assertThat(registry.versions("kek-a")).extracting(KekRecord::version).containsExactly(1, 2);
        assertThat(registry.listAfter("kek-a", 1, 10)).extracting(r -> r.kekId() + r.version()).containsExactly("kek-a2", "kek-b1");
        assertThat(registry.listAfter("", 0, 2)).hasSize(2);
        KekRecord rewrapped = new KekRecord("kek-a", 1, 2, new byte[] {9}, now, null);
        assertThat(registry.replace(rewrapped, 1)).isTrue();
        assertThat(registry.replace(rewrapped, 1)).as("stale expectation").isFalse();
        assertThat(registry.find("kek-a", 1).orElseThrow().rootKeyVersion()).isEqualTo(2);
    }

    @Test
    void keysInTheDatabaseRotateAndShred() {
        open();
        EnvelopeCipher cipher = new EnvelopeCipher(keyring);
        EncryptionContext ctx = new EncryptionContext("default", "Patient", "p", "1");
        byte[] sealed = cipher.seal("kek-db", ctx, new byte[] {42});
        keyring.rotateKek("kek-db");
        assertThat(keyring.rotateRootKey().rewrapped()).isGreaterThanOrEqualTo(2);
        keyring.clearCache();
        assertThat(cipher.open(ctx, sealed)).containsExactly(42);
        keyring.destroyKek("kek-db");
        assertThatThrownBy(() -> cipher.open(ctx, sealed)).isInstanceOf(KeyDestroyedException.class);
        assertThat(registry.versions("kek-db")).allMatch(KekRecord::destroyed).allMatch(r -> r.wrappedKey().length == 0);
    }

    @Test
    void resourcesAreVersionedReadBackAndSoftDeleted() {
        open();
        Patient p = new Patient();
        p.addName().setFamily("Index-Contract");
        String id = repository.create("Patient", p, ALL).resource().getIdElement().getIdPart();
        Patient changed = (Patient) repository.read("Patient", id, ALL);
        changed.getNameFirstRep().setFamily("Index-Contract-2");
        repository.update("Patient", id, changed, 1L, ALL);
        assertThat(((Patient) repository.vread("Patient", id, 1, ALL)).getNameFirstRep().getFamily()).isEqualTo("Index-Contract");
        assertThat(versions("Patient", id, ALL)).containsExactly(2L, 1L);
        assertThatThrownBy(() -> repository.update("Patient", id, changed, 1L, ALL)).isInstanceOf(PreconditionFailedException.class);
        repository.delete("Patient", id, ALL);
        assertThatThrownBy(() -> repository.read("Patient", id, ALL)).isInstanceOf(ResourceGoneException.class);
        assertThat(jdbc.queryForObject("select count(*) from resource_version where resource_id = ?", Integer.class, id)).isEqualTo(3);
        // The index holds no clinical value: the family name is in no row.
        assertThat(jdbc.queryForList("select * from resource_version").toString()).doesNotContain("Index-Contract");
        assertThat(jdbc.queryForList("select * from resource_current").toString()).doesNotContain("Index-Contract");
    }

    @Test
    void searchesByTokenIdAndDateOnThisDatabase() {
        open();
        Patient a = new Patient();
        a.addIdentifier().setSystem("urn:oid:1.2.250.1.213.1.4.8").setValue("1111");
        Patient b = new Patient();
        b.addIdentifier().setSystem("urn:oid:1.2.250.1.213.1.4.8").setValue("2222");
        String idA = repository.create("Patient", a, ALL).resource().getIdElement().getIdPart();
        String idB = repository.create("Patient", b, ALL).resource().getIdElement().getIdPart();
        String tokenA = repository.searchTokens().tokenQuery("identifier", "urn:oid:1.2.250.1.213.1.4.8", "1111");
        String tokenAnyB = repository.searchTokens().tokenQuery("identifier", null, "2222");
        var byToken = search.search("Patient", new SearchCriteria(List.of(
                new SearchCriteria.Tokens("identifier", List.of(tokenA, tokenAnyB), false)), true), ALL);
        assertThat(byToken).extracting(VersionRef::id).containsExactly(idB, idA);
        var both = search.search("Patient", new SearchCriteria(List.of(new SearchCriteria.Ids(List.of(idA), false),
                new SearchCriteria.Updated(List.of(new SearchCriteria.Range(Instant.now().minusSeconds(60), null, false))),
                new SearchCriteria.Tokens("identifier", List.of(tokenA), false)), false), ALL);
        assertThat(both).extracting(VersionRef::id).containsExactly(idA);
        var notA = search.search("Patient", new SearchCriteria(List.of(new SearchCriteria.Ids(List.of(idA), true),
                new SearchCriteria.Tokens("identifier", List.of(tokenA, tokenAnyB), false)), false), ALL);
        assertThat(notA).extracting(VersionRef::id).containsExactly(idB);
        var withoutTokenA = search.search("Patient", new SearchCriteria(List.of(new SearchCriteria.Ids(List.of(idA, idB), false),
                new SearchCriteria.Tokens("identifier", List.of(tokenA), true)), false), ALL);
        assertThat(withoutTokenA).extracting(VersionRef::id).containsExactly(idB);
        var outsideTheLastMinute = search.search("Patient", new SearchCriteria(List.of(new SearchCriteria.Ids(List.of(idA, idB), false),
                new SearchCriteria.Updated(List.of(new SearchCriteria.Range(Instant.now().minusSeconds(60), null, true)))), false), ALL);
        assertThat(outsideTheLastMinute).isEmpty();
    }

    @Test
    void concurrentUpdatesOfOneVersionLetExactlyOneWin() {
        open();
        Patient p = new Patient();
        p.addName().setFamily("Race");
        String id = repository.create("Patient", p, ALL).resource().getIdElement().getIdPart();
        AtomicInteger wins = new AtomicInteger();
        AtomicInteger conflicts = new AtomicInteger();
        List<CompletableFuture<Void>> writers = java.util.stream.IntStream.range(0, 6).mapToObj(i -> CompletableFuture.runAsync(() -> {
            Patient v = new Patient();
            v.addName().setFamily("Race-" + i);
            try {
                repository.update("Patient", id, v, 1L, ALL);
                wins.incrementAndGet();
            } catch (PreconditionFailedException | ResourceVersionConflictException e) {
                conflicts.incrementAndGet();
            }
        })).toList();
        writers.forEach(CompletableFuture::join);
        assertThat(wins.get()).isEqualTo(1);
        assertThat(conflicts.get()).isEqualTo(5);
        IBaseResource current = repository.read("Patient", id, ALL);
        assertThat(current.getMeta().getVersionId()).isEqualTo("2");
    }

    /**
     * Compartment filtering is done by the index queries themselves, so that a restricted
     * caller's searches, totals and histories hold only what it may see, on this database too.
     */
    @Test
    void aRestrictedCallerSeesItsCompartmentAndSharedResourcesOnly() {
        open();
        String a = repository.create("Patient", new Patient(), ALL).resource().getIdElement().getIdPart();
        String b = repository.create("Patient", new Patient(), ALL).resource().getIdElement().getIdPart();
        String obsA = repository.create("Observation", observationOf(a), ALL).resource().getIdElement().getIdPart();
        String obsB = repository.create("Observation", observationOf(b), ALL).resource().getIdElement().getIdPart();
        String doctor = repository.create("Practitioner", new Practitioner(), ALL).resource().getIdElement().getIdPart();
        Visibility onlyA = Visibility.patient(a);
        SearchCriteria everything = SearchCriteria.EVERYTHING;

        assertThat(search.search("Observation", everything, onlyA)).extracting(VersionRef::id)
                .contains(obsA).doesNotContain(obsB);
        assertThat(search.search("Practitioner", everything, onlyA)).extracting(VersionRef::id).contains(doctor);
        assertThat(repository.read("Observation", obsA, onlyA)).isNotNull();
        // Another patient's record and a record that does not exist answer alike.
        assertThatThrownBy(() -> repository.read("Observation", obsB, onlyA)).isInstanceOf(ResourceNotFoundException.class)
                .hasMessage(catchMessage(() -> repository.read("Observation", "no-such-id", onlyA)).replace("no-such-id", obsB));
        assertThatThrownBy(() -> versions("Observation", obsB, onlyA)).isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> search.compartment(b, onlyA)).isInstanceOf(ResourceNotFoundException.class);
        assertThat(search.history("Observation", null, ResourceSearch.Window.ALL, onlyA)).extracting(VersionRef::id)
                .contains(obsA).doesNotContain(obsB);
        // Writes: never into another compartment, never to shared resources.
        assertThatThrownBy(() -> repository.create("Observation", observationOf(b), onlyA)).isInstanceOf(ForbiddenOperationException.class);
        assertThatThrownBy(() -> repository.update("Observation", obsB, observationOf(a), null, onlyA))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> repository.update("Practitioner", doctor, new Practitioner(), null, onlyA))
                .isInstanceOf(ForbiddenOperationException.class);
        assertThatThrownBy(() -> repository.delete("Observation", obsB, onlyA)).isInstanceOf(ResourceNotFoundException.class);
        assertThat(repository.read("Observation", obsB, ALL)).isNotNull();

        // A resource moved to another patient: its old version stays with the old patient, the new one with the new.
        repository.update("Observation", obsA, observationOf(b), 1L, ALL);
        assertThat(repository.vread("Observation", obsA, 1, onlyA)).isNotNull();
        assertThatThrownBy(() -> repository.read("Observation", obsA, onlyA)).isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> repository.vread("Observation", obsA, 2, Visibility.patient(a)))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThat(versions("Observation", obsA, onlyA)).containsExactly(1L);
        assertThat(versions("Observation", obsA, Visibility.patient(b))).containsExactly(2L);
    }

    private static Observation observationOf(String patientId) {
        Observation o = new Observation();
        o.setSubject(new Reference("Patient/" + patientId));
        o.getCode().setText("test");
        return o;
    }

    private static String catchMessage(Runnable r) {
        try {
            r.run();
            throw new AssertionError("expected a failure");
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }
}
