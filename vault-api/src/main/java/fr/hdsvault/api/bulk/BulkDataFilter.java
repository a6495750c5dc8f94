package fr.hdsvault.api.bulk;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import fr.hdsvault.api.audit.AuditContext;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditFilter;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.fhir.OperationOutcomes;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Caller;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.web.ClientAddress;
import fr.hdsvault.api.web.TrustedProxies;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The FHIR Bulk Data Access IG v2.0.0 endpoints, in front of HAPI (they are asynchronous and
 * stream files, which HAPI's plain server does not do):
 * <ul>
 *   <li>kick-off: {@code GET|POST /fhir/$export}, {@code /fhir/Patient/$export},
 *       {@code /fhir/Group/[id]/$export}: 202 and the status URL in {@code Content-Location};</li>
 *   <li>status: {@code GET /fhir/$export-status/[job]}: 202 with {@code X-Progress} and
 *       {@code Retry-After} while it runs (429 when polled faster), 200 and the manifest when
 *       complete, 500 and an OperationOutcome when it failed; {@code DELETE} cancels it, and
 *       destroys its files;</li>
 *   <li>files: {@code GET /fhir/$export-file/[job]/[n]}: NDJSON, opened from its sealed object as it streams.</li>
 * </ul>
 * Status and files answer only the client that asked (its token's subject and client id); to
 * any other caller a job does not exist (404), as another patient's record does not.
 */
final class BulkDataFilter extends OncePerRequestFilter {

    private static final Pattern KICKOFF = Pattern.compile("/fhir/(?:(Patient)/|Group/([^/]+)/)?\\$export");
    private static final Pattern STATUS = Pattern.compile("/fhir/\\$export-status/([0-9a-f]{32})");
    private static final Pattern FILE = Pattern.compile(Pattern.quote(AuditFilter.STREAMED_PREFIX) + "([0-9a-f]{32})/([0-9]{1,9})");
    private static final String STATUS_PATH = "/fhir/$export-status/";
    /** RFC 9110's IMF-fixdate, for Expires. */
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US)
            .withZone(ZoneOffset.UTC);

    private final FhirContext fhir;
    private final ExportKickoff kickoff;
    private final ExportJobs jobs;
    private final ExportFiles files;
    private final ExportRunner runner;
    private final VaultRepository repository;
    private final AccessPolicy access;
    private final TrustedProxies proxies;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final BulkProperties settings;
    private final Clock clock;

    BulkDataFilter(FhirContext fhir, ExportKickoff kickoff, ExportJobs jobs, ExportFiles files, ExportRunner runner,
                   VaultRepository repository, AccessPolicy access, TrustedProxies proxies, AuditTrail trail, AuditEvents events,
                   BulkProperties settings, Clock clock) {
        this.fhir = fhir;
        this.kickoff = kickoff;
        this.jobs = jobs;
        this.files = files;
        this.runner = runner;
        this.repository = repository;
        this.access = access;
        this.proxies = proxies;
        this.trail = trail;
        this.events = events;
        this.settings = settings;
        this.clock = clock;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String path = request.getRequestURI();
        String method = request.getMethod();
        try {
            Matcher m;
            if ((m = KICKOFF.matcher(path)).matches()) {
                requireMethod(method, "GET", "POST");
                kickOff(request, response, m.group(1) != null ? ExportRequest.Level.PATIENT
                        : m.group(2) != null ? ExportRequest.Level.GROUP : ExportRequest.Level.SYSTEM, m.group(2));
            } else if ((m = STATUS.matcher(path)).matches()) {
                requireMethod(method, "GET", "DELETE");
                if ("DELETE".equals(method)) {
                    cancel(response, m.group(1));
                } else {
                    status(request, response, m.group(1));
                }
            } else if ((m = FILE.matcher(path)).matches()) {
                requireMethod(method, "GET");
                download(request, response, m.group(1), Integer.parseInt(m.group(2)));
            } else if (path.startsWith(STATUS_PATH) || path.startsWith(AuditFilter.STREAMED_PREFIX)) {
                throw new ResourceNotFoundException("No such bulk export");
            } else {
                chain.doFilter(request, response);
            }
        } catch (BaseServerResponseException e) {
            if (e.getStatusCode() == 429) {
                response.setHeader("Retry-After", String.valueOf(retryAfterSeconds()));
            }
            OperationOutcomes.write(fhir, response, e.getStatusCode(), OperationOutcomes.error(issue(e.getStatusCode()), e.getMessage()));
        }
    }

    private void kickOff(HttpServletRequest request, HttpServletResponse response, ExportRequest.Level level, String groupId)
            throws IOException {
        if (groupId != null && !FhirIds.valid(groupId)) {
            throw new InvalidRequestException("Invalid Group id");
        }
        ExportRequest asked = kickoff.read(request, level, groupId);
        Caller caller = AccessPolicy.currentCaller();
        authorize(asked);
        if (groupId != null) { // 404 now rather than a failed job later; read as any read is, audited with its patients
            repository.read("Group", groupId, access.visibility("Group", Permission.READ));
            AuditContext.of(request).ifPresent(audit -> audit.touched("Group/" + groupId, null));
        }
        String owner = ownerKey(caller);
        if (jobs.active(owner) >= settings.maxActivePerClient()) {
            throw new TooManyExports(settings.maxActivePerClient());
        }
        String id = HexFormat.of().formatHex(randomBytes(16));
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        String url = proxies.publicBase(request) + request.getRequestURI() + (request.getQueryString() == null ? ""
                : "?" + request.getQueryString());
        jobs.create(new ExportJobs.Job(id, owner, caller.subject(), caller.clientId(), ExportRunner.JSON.writeValueAsString(asked), url,
                "export-" + id, ExportJobs.Status.ACCEPTED, now, null, null, null, null, 0, null));
        AuditContext.of(request).ifPresent(audit -> audit.touched("urn:hds-vault:bulk-export:" + id, null));
        response.setHeader("Content-Location", proxies.publicBase(request) + STATUS_PATH + id);
        OperationOutcome accepted = new OperationOutcome();
        accepted.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION).setCode(OperationOutcome.IssueType.INFORMATIONAL)
                .setDiagnostics("Bulk export accepted; poll the URL in Content-Location");
        OperationOutcomes.write(fhir, response, HttpServletResponse.SC_ACCEPTED, accepted);
    }

    /** Every type the export may hold must be readable across the whole vault by the caller (a system/ scope): 403 otherwise. */
    private void authorize(ExportRequest asked) {
        List<String> types = asked.types().isEmpty() ? fhir.getResourceTypes().stream()
                .filter(t -> !AccessPolicy.AUDIT_EVENT.equals(t)).sorted().toList() : asked.types();
        for (String type : types) {
            if (access.visibility(type, Permission.SEARCH).restricted()) {
                throw new ForbiddenOperationException("A bulk export reads across patients: this token is limited to one patient");
            }
        }
    }

    private void status(HttpServletRequest request, HttpServletResponse response, String id) throws IOException {
        ExportJobs.Job job = visibleJob(id);
        if (job.status() == ExportJobs.Status.ACCEPTED || job.status() == ExportJobs.Status.RUNNING) {
            if (!jobs.polled(id, settings.retryAfter().minusMillis(100))) {
                throw new TooFrequent();
            }
            response.setStatus(HttpServletResponse.SC_ACCEPTED);
            response.setHeader("X-Progress", job.status() == ExportJobs.Status.ACCEPTED ? "queued"
                    : "in progress: " + job.resources() + " resources exported");
            response.setHeader("Retry-After", String.valueOf(retryAfterSeconds()));
            return;
        }
        if (job.status() == ExportJobs.Status.FAILED) {
            OperationOutcomes.write(fhir, response, HttpServletResponse.SC_INTERNAL_SERVER_ERROR,
                    OperationOutcomes.error(OperationOutcome.IssueType.EXCEPTION, job.error()));
            return;
        }
        String base = proxies.publicBase(request) + AuditFilter.STREAMED_PREFIX + id + "/";
        List<Map<String, Object>> output = new ArrayList<>();
        List<Map<String, Object>> errors = new ArrayList<>();
        for (ExportJobs.File f : jobs.files(id)) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("type", f.type());
            item.put("url", base + f.seq());
            item.put("count", f.resources());
            ("error".equals(f.kind()) ? errors : output).add(item);
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("transactionTime", job.transactionTime().toString());
        manifest.put("request", job.requestUrl());
        manifest.put("requiresAccessToken", true);
        manifest.put("output", output);
        manifest.put("error", errors);
        response.setStatus(HttpServletResponse.SC_OK);
        response.setHeader("Expires", HTTP_DATE.format(job.expiresAt()));
        response.setContentType("application/json;charset=UTF-8");
        response.getWriter().write(ExportRunner.JSON.writeValueAsString(manifest));
    }

    private void cancel(HttpServletResponse response, String id) throws IOException {
        ExportJobs.Job job = visibleJob(id);
        if (jobs.end(id, ExportJobs.Status.CANCELLED)) {
            runner.destroy(job);
        }
        OperationOutcome done = new OperationOutcome();
        done.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION).setCode(OperationOutcome.IssueType.INFORMATIONAL)
                .setDiagnostics("Bulk export cancelled; its files were deleted");
        OperationOutcomes.write(fhir, response, HttpServletResponse.SC_ACCEPTED, done);
    }

    private void download(HttpServletRequest request, HttpServletResponse response, String id, int seq) throws IOException {
        ExportJobs.Job job = visibleJob(id);
        if (job.status() != ExportJobs.Status.COMPLETED && job.status() != ExportJobs.Status.FAILED) {
            throw new ResourceNotFoundException("This export has no such file (yet)");
        }
        ExportJobs.File file = jobs.files(id).stream().filter(f -> f.seq() == seq).findFirst()
                .orElseThrow(() -> new ResourceNotFoundException("This export has no such file"));
        // Durable before the first byte: the event is recorded here, since the response is streamed, not held.
        AuditContext audit = AuditContext.of(request).orElseThrow();
        audit.touched("urn:hds-vault:bulk-export:" + id + "/" + seq, null);
        trail.record(events.of(new AuditEvents.Request(request.getMethod(), request.getRequestURI(), null, ClientAddress.of(request),
                HttpServletResponse.SC_OK, null), audit, clock.instant()));
        audit.recorded();
        response.setStatus(HttpServletResponse.SC_OK);
        response.setContentType("application/fhir+ndjson");
        try (InputStream in = files.open(id, file); OutputStream out = response.getOutputStream()) {
            in.transferTo(out); // authenticated frame by frame: an altered file stops the stream, it is never served whole
        }
    }

    /** The job, if the caller is the client that asked and it is not cancelled or expired; else 404. */
    private ExportJobs.Job visibleJob(String id) {
        String owner = ownerKey(AccessPolicy.currentCaller());
        Optional<ExportJobs.Job> job = jobs.find(id).filter(j -> j.ownerKey().equals(owner)
                && j.status() != ExportJobs.Status.CANCELLED && j.status() != ExportJobs.Status.EXPIRED);
        return job.orElseThrow(() -> new ResourceNotFoundException("No such bulk export for this client"));
    }

    /** Who a job belongs to: how the caller authenticated, its subject, its client application. */
    static String ownerKey(Caller caller) {
        return caller.method() + "|" + caller.subject() + "|" + caller.clientId();
    }

    private static void requireMethod(String method, String... allowed) {
        if (!List.of(allowed).contains(method)) {
            throw new ca.uhn.fhir.rest.server.exceptions.MethodNotAllowedException("Use " + String.join(" or ", allowed) + " here");
        }
    }

    private long retryAfterSeconds() {
        return Math.max(1, (settings.retryAfter().toMillis() + 999) / 1000);
    }

    private static OperationOutcome.IssueType issue(int status) {
        return switch (status) {
            case 401 -> OperationOutcome.IssueType.LOGIN;
            case 403 -> OperationOutcome.IssueType.FORBIDDEN;
            case 404 -> OperationOutcome.IssueType.NOTFOUND;
            case 405 -> OperationOutcome.IssueType.NOTSUPPORTED;
            case 429 -> OperationOutcome.IssueType.THROTTLED;
            default -> status >= 500 ? OperationOutcome.IssueType.EXCEPTION : OperationOutcome.IssueType.INVALID;
        };
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new java.security.SecureRandom().nextBytes(b);
        return b;
    }

    /** 429: the client polls faster than Retry-After. */
    private static final class TooFrequent extends BaseServerResponseException {
        TooFrequent() {
            super(429, "Polled too frequently: wait for Retry-After between polls");
        }
    }

    /** 429: the client has as many exports running as it may. */
    private static final class TooManyExports extends BaseServerResponseException {
        TooManyExports(int max) {
            super(429, "This client already has " + max + " bulk exports waiting or running; wait for one to finish or cancel it");
        }
    }
}
