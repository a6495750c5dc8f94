package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.exceptions.ResourceVersionConflictException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import ca.uhn.fhir.util.FhirTerser;
import fr.hdsvault.api.fhir.BundleEntries;
import fr.hdsvault.api.metrics.IntegrityFailures;
import fr.hdsvault.api.security.Visibility;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.EnvelopeException;
import fr.hdsvault.storage.IntegrityException;
import fr.hdsvault.storage.ObjectNotFoundException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.hl7.fhir.instance.model.api.IAnyResource;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseReference;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.IdType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The vault's records: every version of every resource is sealed in its own envelope (KEK of
 * its patient compartment, context = tenant, type, id, version), written as one immutable
 * object under an opaque key, then recorded in the index in one database transaction with
 * optimistic concurrency on the current version. Reads are the mirror image.
 *
 * <p>An object written whose index transaction then fails is an orphan: never referenced,
 * never served; a later garbage collection can remove it.
 */
public final class VaultRepository {

    private static final Logger log = LoggerFactory.getLogger(VaultRepository.class);
    /** The compartment of resources outside every patient's (Practitioner, Organization...). */
    static final String TENANT_COMPARTMENT = "*";

    private final FhirContext fhir;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final EnvelopeCipher envelopes;
    private final RecordObjects objects;
    private final String tenant;
    private final Clock clock;
    private final SearchTokens searchTokens;
    private final Map<String, String> kekIds = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 100_000;
        }
    };

    public VaultRepository(FhirContext fhir, JdbcTemplate jdbc, TransactionTemplate tx, EnvelopeCipher envelopes,
                           RecordObjects objects, String tenant, Clock clock, SearchTokens searchTokens) {
        this.fhir = fhir;
        this.jdbc = jdbc;
        this.tx = tx;
        this.envelopes = envelopes;
        this.objects = objects;
        this.tenant = tenant;
        this.clock = clock;
        this.searchTokens = searchTokens;
    }

    /** A write's result: the stored resource (id, version, lastUpdated set) and whether it was created. */
    public record Written(IBaseResource resource, boolean created) {
    }

    private record Current(long version, boolean deleted, String compartment) {
    }

    private record Version(long version, String objectKey, boolean deleted, Instant lastUpdated, String compartment) {
    }

    public SearchTokens searchTokens() {
        return searchTokens;
    }

    public Written create(String type, IBaseResource resource, Visibility visibility) {
        return write(type, UUID.randomUUID().toString(), resource, null, visibility);
    }

    /**
     * Update, or create with the client's id when absent.
     * @param expectedVersion the version an If-Match header names, or null
     */
    public Written update(String type, String id, IBaseResource resource, Long expectedVersion, Visibility visibility) {
        FhirIds.require(id);
        return write(type, id, resource, expectedVersion, visibility);
    }

    /** Soft delete: a new version marked deleted, history kept. Deleting a deleted resource changes nothing. */
    public void delete(String type, String id, Visibility visibility) {
        FhirIds.require(id);
        Current current = current(type, id).filter(c -> visibility.canRead(c.compartment())).orElseThrow(() -> notFound(type, id));
        if (!current.deleted()) {
            commit(List.of(prepareDelete(type, id, visibility)));
        }
    }

    /**
     * The current version. A resource the caller may not see reads exactly like one that does
     * not exist (404), so that existence does not leak across patients.
     */
    public IBaseResource read(String type, String id, Visibility visibility) {
        FhirIds.require(id);
        Version v = currentVersion(type, id).filter(found -> visibility.canRead(found.compartment()))
                .orElseThrow(() -> notFound(type, id));
        if (v.deleted()) {
            throw new ResourceGoneException("Resource " + type + "/" + id + " was deleted (version " + v.version() + ")");
        }
        return load(type, id, v);
    }

    /** The current version's JSON as stored, with what the response's headers name. */
    public record StoredJson(long version, Instant lastUpdated, String compartment, byte[] json) {
    }

    /**
     * The current version's JSON as it was stored (the resource with its id and meta, as the
     * JSON parser wrote it), without parsing it, for a plain read ({@code fhir.StoredJsonReads}).
     * Empty wherever {@link #read} would refuse or fail: it is then asked, and explains.
     */
    public Optional<StoredJson> readStored(String type, String id, Visibility visibility) {
        if (!FhirIds.valid(id)) {
            return Optional.empty();
        }
        Optional<Version> found = currentVersion(type, id).filter(v -> visibility.canRead(v.compartment()) && !v.deleted());
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Version v = found.get();
        try {
            byte[] json = storedJson(type, id, v);
            return Optional.of(new StoredJson(v.version(), v.lastUpdated(), v.compartment(), json));
        } catch (IntegrityException | EnvelopeException | ObjectNotFoundException e) {
            return Optional.empty(); // read() logs and counts it, once
        }
    }

    /** A version's JSON: its object (from the cache or the store) opened under its record's context. */
    private byte[] storedJson(String type, String id, Version v) {
        return objects.open(v.objectKey(), envelope -> envelopes.open(context(type, id, v.version()), envelope));
    }

    /** The current pointer and its version row, in one query. */
    private Optional<Version> currentVersion(String type, String id) {
        return jdbc.query("select v.version_id, v.object_key, v.deleted, v.last_updated, c.compartment from resource_current c "
                        + "join resource_version v on v.tenant = c.tenant and v.resource_type = c.resource_type "
                        + "and v.resource_id = c.resource_id and v.version_id = c.version_id "
                        + "where c.tenant = ? and c.resource_type = ? and c.resource_id = ?",
                VERSION_ROW, tenant, type, id).stream().findFirst();
    }

    /** One version, if it belonged to a compartment the caller may see (else 404, as if absent). */
    public IBaseResource vread(String type, String id, long version, Visibility visibility) {
        FhirIds.require(id);
        Version v = jdbc.query("select version_id, object_key, deleted, last_updated, compartment from resource_version "
                                + "where tenant = ? and resource_type = ? and resource_id = ? and version_id = ?",
                        VERSION_ROW, tenant, type, id, version)
                .stream().findFirst().filter(found -> visibility.canRead(found.compartment()))
                .orElseThrow(() -> new ResourceNotFoundException("Resource " + type + "/" + id + " has no version " + version));
        if (v.deleted()) {
            throw new ResourceGoneException("Version " + version + " of " + type + "/" + id + " is a deletion");
        }
        return load(type, id, v);
    }

    /**
     * Loads a page of versions in its order, fetching and decrypting them in parallel on
     * {@code loaders} (a page's objects are independent reads). A deletion becomes its history
     * entry; a version that fails its integrity check becomes an OperationOutcome entry naming
     * it, so that one damaged record does not take the healthy ones down with it.
     */
    public List<IBaseResource> load(List<VersionRef> page, java.util.concurrent.ExecutorService loaders) {
        if (page.size() <= 1 || loaders == null) {
            return page.stream().map(this::entry).toList();
        }
        List<java.util.concurrent.Future<IBaseResource>> futures = page.stream().map(v -> loaders.submit(() -> entry(v))).toList();
        List<IBaseResource> out = new ArrayList<>(page.size());
        try {
            for (java.util.concurrent.Future<IBaseResource> f : futures) {
                out.add(f.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InternalErrorException("interrupted while loading results");
        } catch (java.util.concurrent.ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new InternalErrorException("could not load results");
        }
        return out;
    }

    private IBaseResource entry(VersionRef v) {
        if (v.deleted()) {
            return BundleEntries.deletion(fhir, v);
        }
        try {
            return vread(v.type(), v.id(), v.version(), Visibility.ALL);
        } catch (DamagedRecordException e) {
            return BundleEntries.damaged(e.reference());
        }
    }

    // ------------------------------------------------------------------ internals

    private Written write(String type, String id, IBaseResource resource, Long expectedVersion, Visibility visibility) {
        Prepared prepared = prepare(type, id, resource, expectedVersion, visibility);
        commit(List.of(prepared));
        return new Written(resource, prepared.previous() == null);
    }

    /**
     * A write whose envelope is already stored but not yet indexed: invisible until
     * {@link #commit}. Building several and committing them together makes a transaction.
     */
    public record Prepared(String type, String id, long version, Long previous, String objectKey, boolean deleted,
                           Instant lastUpdated, String compartment, Set<SearchTokens.Token> tokens) {
    }

    /** Assigns version and lastUpdated, seals and stores the envelope; indexes nothing. */
    public Prepared prepare(String type, String id, IBaseResource resource, Long expectedVersion, Visibility visibility) {
        FhirIds.require(id);
        Optional<Current> current = current(type, id);
        if (current.isPresent()) {
            requireWritable(type, id, current.get().compartment(), visibility);
        }
        if (expectedVersion != null && current.map(c -> c.version() != expectedVersion).orElse(true)) {
            throw new PreconditionFailedException("If-Match names version " + expectedVersion + " of " + type + "/" + id
                    + " but the current version is " + current.map(c -> String.valueOf(c.version())).orElse("none"));
        }
        return seal(type, id, resource, current.map(c -> c.version() + 1).orElse(1L), current.map(Current::version).orElse(null),
                now(), visibility);
    }

    /**
     * A resource migrated in (bulk import), written as any write is (sealed under its patient's
     * key, indexed) under its own id. With {@code preserveMeta}, under its own
     * {@code meta.versionId} and {@code meta.lastUpdated}, as the vault it comes from had them;
     * else as the next version, now. Empty when the vault already holds it (that version, or the
     * same content): importing a file again after a crash adds nothing.
     * @throws IllegalArgumentException preserved meta that is missing, invalid, in the future, or older than what is stored
     */
    public Optional<Prepared> prepareImport(String type, String id, IBaseResource resource, boolean preserveMeta) {
        FhirIds.require(id);
        Optional<Version> current = currentVersion(type, id);
        IAnyResource any = (IAnyResource) resource;
        long version;
        Instant lastUpdated;
        if (preserveMeta) {
            try {
                version = Long.parseLong(any.getMeta().getVersionId());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("meta.versionId must be a whole number to be preserved");
            }
            if (version < 1 || any.getMeta().getLastUpdated() == null) {
                throw new IllegalArgumentException("meta.versionId (1 or more) and meta.lastUpdated are needed to preserve them");
            }
            lastUpdated = any.getMeta().getLastUpdated().toInstant().truncatedTo(ChronoUnit.MILLIS);
            if (lastUpdated.isAfter(now())) {
                throw new IllegalArgumentException("meta.lastUpdated is in the future");
            }
            if (current.isPresent() && current.get().version() >= version) {
                if (current.get().version() == version) {
                    return Optional.empty();
                }
                throw new IllegalArgumentException("version " + version + " is older than the stored version " + current.get().version());
            }
        } else {
            if (current.isPresent() && !current.get().deleted() && sameContent(load(type, id, current.get()), resource)) {
                return Optional.empty();
            }
            version = current.map(v -> v.version() + 1).orElse(1L);
            lastUpdated = now();
        }
        return Optional.of(seal(type, id, resource, version, current.map(Version::version).orElse(null), lastUpdated, Visibility.ALL));
    }

    /** Equal but for the version and time the vault assigns. */
    private static boolean sameContent(IBaseResource stored, IBaseResource given) {
        IAnyResource a = (IAnyResource) ((org.hl7.fhir.r4.model.Resource) stored).copy();
        IAnyResource b = (IAnyResource) ((org.hl7.fhir.r4.model.Resource) given).copy();
        for (IAnyResource r : List.of(a, b)) {
            r.getMeta().setVersionId(null);
            r.getMeta().setLastUpdated(null);
            r.setId((String) null);
        }
        return ((org.hl7.fhir.r4.model.Resource) a).equalsDeep((org.hl7.fhir.r4.model.Resource) b);
    }

    /** Sets id, version and lastUpdated, seals the resource under its patient's key and stores the envelope. */
    private Prepared seal(String type, String id, IBaseResource resource, long version, Long previous, Instant lastUpdated,
                          Visibility visibility) {
        resource.setId(new IdType(type, id, String.valueOf(version)));
        IAnyResource any = (IAnyResource) resource;
        any.getMeta().setVersionId(String.valueOf(version));
        any.getMeta().setLastUpdated(Date.from(lastUpdated));
        String compartment = compartmentToWrite(type, id, resource);
        if (!visibility.canWrite(compartment)) {
            throw new ForbiddenOperationException("This token may only write resources of its own patient's compartment");
        }
        byte[] json = fhir.newJsonParser().encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
        byte[] envelope = envelopes.seal(kekIdFor(compartment), context(type, id, version), json);
        String objectKey = newObjectKey();
        objects.put(objectKey, envelope);
        return new Prepared(type, id, version, previous, objectKey, false, lastUpdated, compartment,
                searchTokens.of(type, resource, compartment));
    }

    /** A deletion to commit: a new version marked deleted, with no object. */
    public Prepared prepareDelete(String type, String id, Visibility visibility) {
        FhirIds.require(id);
        Current current = current(type, id).orElseThrow(() -> notFound(type, id));
        requireWritable(type, id, current.compartment(), visibility);
        return new Prepared(type, id, current.version() + 1, current.version(), null, true, now(), current.compartment(), Set.of());
    }

    /** Someone else's record is absent (404); a visible one the caller may not change is 403. */
    private static void requireWritable(String type, String id, String compartment, Visibility visibility) {
        if (!visibility.canRead(compartment)) {
            throw notFound(type, id);
        }
        if (!visibility.canWrite(compartment)) {
            throw new ForbiddenOperationException("This token may only write resources of its own patient's compartment");
        }
    }

    /** Indexes prepared writes in one database transaction: all become visible, or none. */
    public void commit(List<Prepared> writes) {
        // One batch per statement for the whole write (a bundle's entries together): a round trip per
        // statement, not per entry and statement, which is what a bundle's commit cost on PostgreSQL.
        List<Prepared> created = writes.stream().filter(w -> w.previous() == null).toList();
        List<Prepared> changed = writes.stream().filter(w -> w.previous() != null).toList();
        try {
            tx.executeWithoutResult(status -> {
                jdbc.batchUpdate("insert into resource_version (tenant, resource_type, resource_id, version_id, object_key, deleted, "
                        + "last_updated, compartment) values (?, ?, ?, ?, ?, ?, ?, ?)", writes.stream().map(w -> new Object[] {
                            tenant, w.type(), w.id(), w.version(), w.objectKey(), w.deleted(), utc(w.lastUpdated()), w.compartment()})
                        .toList());
                if (!created.isEmpty()) { // a concurrent creation of the same id fails on the primary key: a conflict, below
                    jdbc.batchUpdate("insert into resource_current (tenant, resource_type, resource_id, version_id, deleted, "
                            + "last_updated, compartment) values (?, ?, ?, ?, ?, ?, ?)", created.stream().map(w -> new Object[] {
                                tenant, w.type(), w.id(), w.version(), w.deleted(), utc(w.lastUpdated()), w.compartment()}).toList());
                }
                if (!changed.isEmpty()) {
                    int[] counts = jdbc.batchUpdate("update resource_current set version_id = ?, deleted = ?, last_updated = ?, "
                            + "compartment = coalesce(?, compartment) "
                            + "where tenant = ? and resource_type = ? and resource_id = ? and version_id = ?", changed.stream()
                            .map(w -> new Object[] {w.version(), w.deleted(), utc(w.lastUpdated()), w.compartment(), tenant, w.type(),
                                w.id(), w.previous()}).toList());
                    for (int i = 0; i < counts.length; i++) {
                        if (counts[i] != 1) { // another write moved the current version since this one read it
                            Prepared w = changed.get(i);
                            throw new ResourceVersionConflictException(w.type() + "/" + w.id() + " changed during this write; retry");
                        }
                    }
                    jdbc.batchUpdate("delete from search_token where tenant = ? and resource_type = ? and resource_id = ?",
                            changed.stream().map(w -> new Object[] {tenant, w.type(), w.id()}).toList());
                }
                List<Object[]> tokens = writes.stream().flatMap(w -> w.tokens().stream()
                        .map(t -> new Object[] {tenant, w.type(), w.id(), t.param(), t.value()})).toList();
                if (!tokens.isEmpty()) {
                    jdbc.batchUpdate("insert into search_token (tenant, resource_type, resource_id, param, token) values (?, ?, ?, ?, ?)",
                            tokens);
                }
            });
        } catch (DuplicateKeyException e) {
            throw new ResourceVersionConflictException("a resource of this write was written concurrently; retry");
        }
    }

    private static final org.springframework.jdbc.core.RowMapper<Version> VERSION_ROW = (rs, n) -> new Version(rs.getLong(1),
            rs.getString(2), rs.getBoolean(3), rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5));

    private IBaseResource load(String type, String id, Version v) {
        byte[] json = json(new StoredVersion(type, id, v.version(), v.objectKey(), v.compartment()));
        return fhir.newJsonParser().parseResource(new String(json, StandardCharsets.UTF_8));
    }

    /**
     * A version's JSON as stored (one line: the resource with its id and meta), for a bulk export.
     * @throws DamagedRecordException when its object is missing, altered or under a destroyed key
     */
    public byte[] json(StoredVersion v) {
        try {
            return objects.open(v.objectKey(), envelope -> envelopes.open(context(v.type(), v.id(), v.version()), envelope));
        } catch (IntegrityException | EnvelopeException | ObjectNotFoundException e) {
            // The opaque object key, never the resource id (a client may choose ids that say something).
            log.error("integrity failure: object {} (a {} version) was not served: {}", v.objectKey(), v.type(),
                    e.getClass().getSimpleName());
            IntegrityFailures.count(IntegrityFailures.Kind.RECORD);
            throw new DamagedRecordException(v.type(), v.id(), v.version());
        }
    }

    private Optional<Current> current(String type, String id) {
        return jdbc.query("select version_id, deleted, compartment from resource_current where tenant = ? and resource_type = ? "
                + "and resource_id = ?", (rs, n) -> new Current(rs.getLong(1), rs.getBoolean(2), rs.getString(3)), tenant, type, id)
                .stream().findFirst();
    }

    /**
     * The compartment a stored resource's current version belongs to, for the audit trail of a
     * request that names it (including refused ones: the event is internal, so naming the
     * patient tells the caller nothing). Empty when nothing is stored under that id.
     */
    public Optional<String> storedCompartment(String type, String id) {
        if (!FhirIds.valid(id)) {
            return Optional.empty();
        }
        return current(type, id).map(Current::compartment);
    }

    /** The patient compartment a resource belongs to: the Patient itself, or its subject/patient reference. */
    public String compartmentOf(String type, String id, IBaseResource resource) {
        return compartment(type, id, resource, false);
    }

    /**
     * As {@link #compartmentOf}, refusing (422) a patient named by identifier only: such a record
     * would fall in the shared compartment, readable by every patient's token.
     */
    private String compartmentToWrite(String type, String id, IBaseResource resource) {
        return compartment(type, id, resource, true);
    }

    private String compartment(String type, String id, IBaseResource resource, boolean refuseLogical) {
        if (type.equals("Patient")) {
            return "Patient/" + id;
        }
        FhirTerser terser = fhir.newTerser();
        // Provenance is in its target patient's compartment, as FHIR's Patient CompartmentDefinition puts it.
        for (String element : type.equals("Provenance") ? new String[] {"target"} : new String[] {"subject", "patient", "beneficiary"}) {
            if (fhir.getResourceDefinition(type).getChildByName(element) == null) {
                continue;
            }
            for (IBase value : terser.getValues(resource, type + "." + element)) {
                if (value instanceof IBaseReference ref && ref.getReferenceElement() != null
                        && "Patient".equals(ref.getReferenceElement().getResourceType())
                        && ref.getReferenceElement().getIdPart() != null) {
                    return "Patient/" + ref.getReferenceElement().getIdPart();
                }
                if (refuseLogical && value instanceof org.hl7.fhir.r4.model.Reference ref && !ref.hasReference() && ref.hasIdentifier()
                        && (!ref.hasType() || ref.getType().equals("Patient") || ref.getType().endsWith("/Patient"))) {
                    throw new UnprocessableEntityException(type + "." + element + " names a patient by identifier only: the vault files "
                            + "each record in its patient's compartment, which needs the literal reference (Patient/[id]) as well");
                }
            }
        }
        return TENANT_COMPARTMENT;
    }

    /** The opaque KEK id of a compartment, created on first use; never derived from the patient id. */
    private String kekIdFor(String compartment) {
        synchronized (kekIds) {
            String cached = kekIds.get(compartment);
            if (cached != null) {
                return cached;
            }
        }
        String kekId = jdbc.queryForList("select kek_id from compartment_kek where tenant = ? and compartment = ?",
                String.class, tenant, compartment).stream().findFirst().orElse(null);
        if (kekId == null) {
            String fresh = "k" + HexFormat.of().formatHex(randomBytes(16));
            try {
                jdbc.update("insert into compartment_kek (tenant, compartment, kek_id) values (?, ?, ?)", tenant, compartment, fresh);
                kekId = fresh;
            } catch (DuplicateKeyException e) {
                kekId = jdbc.queryForObject("select kek_id from compartment_kek where tenant = ? and compartment = ?",
                        String.class, tenant, compartment);
            }
        }
        synchronized (kekIds) {
            kekIds.put(compartment, kekId);
        }
        return kekId;
    }

    private EncryptionContext context(String type, String id, long version) {
        return recordContext(tenant, type, id, version);
    }

    /** What a record version's envelope is bound to: opened under any other, it fails (a swapped object). */
    public static EncryptionContext recordContext(String tenant, String type, String id, long version) {
        return new EncryptionContext(tenant, type, id, String.valueOf(version));
    }

    /** Opaque, evenly spread object keys: nothing about the resource or the patient. */
    private static String newObjectKey() {
        String hex = HexFormat.of().formatHex(randomBytes(16));
        return "r/" + hex.substring(0, 2) + "/" + hex;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b); // names, not secrets: uniqueness is what matters
        return b;
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    private static OffsetDateTime utc(Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private static ResourceNotFoundException notFound(String type, String id) {
        return new ResourceNotFoundException("Resource " + type + "/" + id + " is not known");
    }
}
