package fr.hdsvault.api.bulk;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.resources.DamagedRecordException;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.resources.ResourceSearch;
import fr.hdsvault.api.resources.SearchClauses;
import fr.hdsvault.api.resources.SearchCriteria;
import fr.hdsvault.api.resources.StoredVersion;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Visibility;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Group;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs export jobs on this node, one at a time (an export's memory is one page of resources and
 * the file being sealed, whatever its size): claims a job from the database, walks each type's
 * resources in id order through the index, opens their objects in parallel, writes them as
 * NDJSON lines into sealed files, and records each file with the point to resume from. Also ends
 * what has expired: a finished export's key is destroyed and its files deleted.
 */
final class ExportRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ExportRunner.class);
    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int PAGE = 512;

    private final ExportJobs jobs;
    private final ExportFiles files;
    private final ResourceSearch search;
    private final VaultRepository repository;
    private final SearchClauses clauses;
    private final ExecutorService loaders;
    private final FhirContext fhir;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final BulkProperties settings;
    private final String node;
    private final Clock clock;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bulk-export");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean stopping;

    ExportRunner(ExportJobs jobs, ExportFiles files, ResourceSearch search, VaultRepository repository, SearchClauses clauses,
                 ExecutorService loaders, FhirContext fhir, AuditTrail trail, AuditEvents events, BulkProperties settings,
                 String node, Clock clock) {
        this.jobs = jobs;
        this.files = files;
        this.search = search;
        this.repository = repository;
        this.clauses = clauses;
        this.loaders = loaders;
        this.fhir = fhir;
        this.trail = trail;
        this.events = events;
        this.settings = settings;
        this.node = node;
        this.clock = clock;
    }

    /** Starts polling for work; jobs this node held before it stopped are taken up again at once. */
    void start() {
        files.clearTemporary();
        jobs.releaseLeases(node);
        scheduler.scheduleWithFixedDelay(this::tick, 200, 500, TimeUnit.MILLISECONDS);
    }

    /** Stops after the current page; the job's lease is released so that another node (or this one, restarted) resumes it. */
    @Override
    public void close() {
        stopping = true;
        scheduler.shutdown();
        try {
            scheduler.awaitTermination(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        jobs.releaseLeases(node);
    }

    private void tick() {
        try {
            endExpired();
            while (!stopping) {
                var job = jobs.claim(node, settings.lease());
                if (job.isEmpty()) {
                    return;
                }
                run(job.get());
            }
        } catch (RuntimeException e) {
            log.warn("bulk export runner: {}", e.getClass().getSimpleName()); // the database may be out: tried again shortly
        }
    }

    /** Expired exports lose their key and files; cancelled or expired ones whose clean-up was cut short finish it. */
    void endExpired() {
        for (ExportJobs.Job job : jobs.expired()) {
            jobs.end(job.id(), ExportJobs.Status.EXPIRED);
            destroy(job);
            log.info("bulk export {} expired: its key was destroyed and its files deleted", job.id());
        }
        for (String id : jobs.endedWithFiles()) {
            jobs.find(id).ifPresent(this::destroy);
        }
    }

    void destroy(ExportJobs.Job job) {
        files.destroy(job.id(), job.kekId(), jobs.files(job.id()));
        jobs.forgetFiles(job.id());
    }

    /** Thrown when the job stopped being this node's to run (cancelled, or this node is stopping). */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private void run(ExportJobs.Job job) {
        long started = System.nanoTime();
        log.info("bulk export {}: {} (resources so far: {})", job.id(), job.resumeType() == null ? "started" : "resumed", job.resources());
        try {
            long total = export(job);
            if (jobs.complete(job.id(), node, clock.instant().plus(settings.expiry()))) {
                log.info("bulk export {} completed: {} resources in {} ms", job.id(), total, (System.nanoTime() - started) / 1_000_000);
            }
        } catch (Stopped stopped) {
            log.info("bulk export {} stopped on this node ({})", job.id(), stopping ? "node stopping" : "cancelled");
        } catch (RuntimeException e) {
            String reason = e instanceof ExportException x ? x.getMessage() : "the export failed (" + e.getClass().getSimpleName() + ")";
            log.error("bulk export {} failed: {}", job.id(), reason);
            jobs.fail(job.id(), node, reason, clock.instant().plus(settings.expiry()));
        }
    }

    /** A failure the client is told about as it is (no data in it). */
    static final class ExportException extends RuntimeException {
        ExportException(String message) {
            super(message);
        }
    }

    private long export(ExportJobs.Job job) {
        ExportRequest request = JSON.readValue(job.requestJson(), ExportRequest.class);
        ResourceSearch.ExportScope scope = scope(request);
        Map<String, List<SearchCriteria>> filters = new LinkedHashMap<>();
        for (String filter : request.typeFilters()) {
            int question = filter.indexOf('?');
            String type = filter.substring(0, question);
            filters.computeIfAbsent(type, t -> new ArrayList<>()).add(clauses.parse("_typeFilter", type, filter.substring(question + 1)));
        }
        Set<String> types = new TreeSet<>(request.types().isEmpty() ? fhir.getResourceTypes() : request.types());
        types.remove(AccessPolicy.AUDIT_EVENT);
        List<ExportJobs.File> written = jobs.files(job.id());
        int[] seq = {written.stream().mapToInt(ExportJobs.File::seq).max().orElse(0)};
        long[] total = {job.resources()};
        long renewed = System.nanoTime();
        for (String type : types) {
            if (job.resumeType() != null && type.compareTo(job.resumeType()) < 0) {
                continue;
            }
            String after = type.equals(job.resumeType()) ? job.resumeAfterId() : null;
            ExportFiles.Writer out = null;
            ExportFiles.Writer errors = null;
            try {
                // Double-buffered: the next page is listed and its objects are being fetched and opened while this
                // page is written out, so that the object threads never wait for the sealing of the output.
                List<SearchCriteria> typeFilters = filters.getOrDefault(type, List.of());
                List<StoredVersion> page = search.exportPage(type, scope, typeFilters, request.since(), job.transactionTime(), after,
                        PAGE);
                List<Future<byte[]>> loads = submit(page);
                while (!page.isEmpty()) {
                    if (stopping) {
                        throw new Stopped();
                    }
                    if (System.nanoTime() - renewed > settings.lease().toNanos() / 3) {
                        if (!jobs.renew(job.id(), node, settings.lease())) {
                            throw new Stopped();
                        }
                        renewed = System.nanoTime();
                    }
                    String last = page.get(page.size() - 1).id();
                    List<StoredVersion> next = search.exportPage(type, scope, typeFilters, request.since(), job.transactionTime(),
                            last, PAGE);
                    List<Future<byte[]>> nextLoads = submit(next);
                    for (int i = 0; i < page.size(); i++) {
                        StoredVersion v = page.get(i);
                        byte[] json = load(loads.get(i));
                        if (json != null && !passes(typeFilters, json)) {
                            continue;
                        }
                        if (json != null) {
                            if (out == null) {
                                out = files.writer(job.id(), job.kekId(), ++seq[0], type, "output");
                            }
                            out.add(json, v.compartment());
                        } else {
                            if (errors == null) {
                                errors = files.writer(job.id(), job.kekId(), ++seq[0], "OperationOutcome", "error");
                            }
                            errors.add(damaged(v), null);
                        }
                    }
                    after = last;
                    if (out != null && (out.lines() >= settings.fileResources() || out.bytes() >= settings.fileBytes())) {
                        total[0] = record(job, out, errors, type, after, total[0]);
                        out = null;
                        errors = null;
                    }
                    page = next;
                    loads = nextLoads;
                }
                if (out != null || errors != null) {
                    total[0] = record(job, out, errors, type, after, total[0]);
                    out = null;
                    errors = null;
                }
            } finally {
                if (out != null) {
                    out.close();
                }
                if (errors != null) {
                    errors.close();
                }
            }
        }
        return total[0];
    }

    /** A resource the index selected passes the checks of the type's one checked query (ExportKickoff allows no other). */
    private boolean passes(List<SearchCriteria> typeFilters, byte[] json) {
        if (typeFilters.size() != 1 || typeFilters.get(0).checks().isEmpty()) {
            return true;
        }
        org.hl7.fhir.instance.model.api.IBaseResource resource = fhir.newJsonParser().parseResource(new String(json,
                java.nio.charset.StandardCharsets.UTF_8));
        return typeFilters.get(0).checks().stream().allMatch(check -> check.test(resource));
    }

    private List<Future<byte[]>> submit(List<StoredVersion> page) {
        return page.stream().map(v -> loaders.submit(() -> repository.json(v))).toList();
    }

    private static byte[] load(Future<byte[]> load) {
        try {
            return load.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stopped();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof DamagedRecordException) {
                return null;
            }
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /** An error line: which record could not be exported, and why in general terms. */
    private byte[] damaged(StoredVersion v) {
        OperationOutcome outcome = new OperationOutcome();
        outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(OperationOutcome.IssueType.PROCESSING)
                .setDiagnostics(v.type() + "/" + v.id() + " version " + v.version() + " was not exported: its stored object "
                        + "failed its integrity check or its key was destroyed");
        return fhir.newJsonParser().encodeResourceToString(outcome).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Uploads a type's file (and its error file), records one AuditEvent per patient whose data
     * it holds for the first time in this export, then records the files and the resume point.
     */
    private long record(ExportJobs.Job job, ExportFiles.Writer out, ExportFiles.Writer errors, String type, String after, long total) {
        List<ExportJobs.File> uploaded = new ArrayList<>();
        Set<String> compartments = out == null ? Set.of() : new LinkedHashSet<>(out.compartments());
        long lines = out == null ? 0 : out.lines();
        if (out != null) {
            uploaded.add(out.upload());
        }
        if (errors != null) {
            uploaded.add(errors.upload());
        }
        List<String> patients = jobs.notYetExported(job.id(), compartments);
        if (!patients.isEmpty()) {
            Instant now = clock.instant();
            trail.record(patients.stream().map(p -> events.bulk(AuditEvents.Bulk.EXPORT, job.requester(), job.clientId(), p, job.id(),
                    now)).toList());
        }
        if (!jobs.recordFiles(job.id(), node, uploaded, type, after, total + lines, patients)) {
            files.destroy(job.id(), job.kekId(), uploaded);
            throw new Stopped();
        }
        return total + lines;
    }

    /** Which compartments the export reads: all, every patient's, or some patients' (a Group's members, a POST's patients). */
    private ResourceSearch.ExportScope scope(ExportRequest request) {
        List<String> asked = request.patients().stream().map(p -> "Patient/" + p).toList();
        return switch (request.level()) {
            case SYSTEM -> ResourceSearch.ExportScope.ALL;
            case PATIENT -> asked.isEmpty() ? ResourceSearch.ExportScope.PATIENTS : ResourceSearch.ExportScope.of(asked);
            case GROUP -> {
                List<String> members = members(request.groupId());
                yield ResourceSearch.ExportScope.of(asked.isEmpty() ? members : members.stream().filter(asked::contains).toList());
            }
        };
    }

    /** The patients a Group names as members, read when the export runs. */
    List<String> members(String groupId) {
        Group group;
        try {
            group = (Group) repository.read("Group", groupId, Visibility.ALL);
        } catch (RuntimeException e) {
            throw new ExportException("Group/" + groupId + " could not be read when the export ran");
        }
        Set<String> out = new LinkedHashSet<>();
        for (Group.GroupMemberComponent member : group.getMember()) {
            var ref = member.getEntity().getReferenceElement();
            if ("Patient".equals(ref.getResourceType()) && FhirIds.valid(ref.getIdPart()) && !member.getInactive()) {
                out.add("Patient/" + ref.getIdPart());
            }
        }
        return List.copyOf(out);
    }
}
