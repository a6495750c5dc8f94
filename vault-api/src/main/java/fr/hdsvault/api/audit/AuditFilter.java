package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.web.ClientAddress;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;

/**
 * Durability before the answer: runs around authentication and the FHIR server, holds the
 * response, records the request's AuditEvents, and only then lets the response out. If the
 * audit trail cannot record them, the held response is discarded and the client gets 503 with
 * an OperationOutcome: nothing is returned that was not recorded. Refusals (401, 403, 429) and
 * failures are recorded like successes. Public discovery (CapabilityStatement, SMART
 * configuration, JWKS) and health probes are not accesses to health data and are not recorded.
 */
public final class AuditFilter extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(AuditFilter.class);
    private static final String UNAVAILABLE = "The audit trail cannot record this access, so it was not served; retry later";
    /**
     * Responses too large to hold (bulk export files): not held; the server records their event
     * itself before streaming ({@link AuditContext#recorded()}), and this filter records the
     * others (refusals) after the fact, when no data left.
     */
    public static final String STREAMED_PREFIX = "/fhir/$export-file/";
    /**
     * Methods whose requests change nothing the vault promised to keep, so their events need no
     * forced index (AuditJournal); unless one answers 201 or 202, as a Bulk Data kick-off by GET
     * does: what it started is a promise, forced with its event.
     */
    private static final Set<String> READS = Set.of("GET", "HEAD");

    private final AuditTrail trail;
    private final AuditEvents events;
    private final RefusalAggregator refusals;
    private final RequestedResources requested;
    private final FhirContext fhir;
    private final Clock clock;

    AuditFilter(AuditTrail trail, AuditEvents events, RefusalAggregator refusals, RequestedResources requested, FhirContext fhir,
                Clock clock) {
        this.trail = trail;
        this.events = events;
        this.refusals = refusals;
        this.requested = requested;
        this.fhir = fhir;
        this.clock = clock;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI();
        if (!path.startsWith("/fhir") && !path.startsWith("/admin")) {
            return true;
        }
        return "GET".equals(request.getMethod()) && (path.equals("/fhir/metadata") || path.startsWith("/fhir/.well-known/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        AuditContext context = AuditContext.attach(request);
        ContentCachingResponseWrapper held = new ContentCachingResponseWrapper(response);
        if (trail.failing() && !"GET".equals(request.getMethod()) && !"HEAD".equals(request.getMethod())) {
            // The trail just failed: refuse a change before it happens rather than store it unrecorded. The refusal
            // itself is recorded when the trail can be written again, which also ends this state: write-only traffic
            // recovers as soon as the database answers, without waiting for a read.
            OperationOutcomes.write(fhir, held, HttpServletResponse.SC_SERVICE_UNAVAILABLE,
                    OperationOutcomes.error(OperationOutcome.IssueType.TRANSIENT, UNAVAILABLE));
            record(request, response, held, context, false);
            return;
        }
        // A streamed download is not held: its event is recorded by its handler before the first byte.
        ContentCachingResponseWrapper target = request.getRequestURI().startsWith(STREAMED_PREFIX) ? null : held;
        boolean failed = false;
        try {
            chain.doFilter(request, target == null ? response : target);
        } catch (IOException | ServletException | RuntimeException e) {
            failed = true;
            throw e;
        } finally {
            if (target != null || !context.isRecorded()) {
                record(request, response, target, context, failed);
            }
        }
    }

    /** Records the request's events, then releases the held response; or answers 503 when they cannot be recorded. */
    private void record(HttpServletRequest request, HttpServletResponse response, ContentCachingResponseWrapper held,
                        AuditContext context, boolean failed) throws IOException {
        int status = failed ? 500 : held == null ? response.getStatus() : held.getStatus();
        if (context.entities().isEmpty()) { // nothing served or written: name what was asked for
            requested.addTo(context, request.getRequestURI(), request.getQueryString());
        }
        ClientAddress address = ClientAddress.of(request);
        List<AuditEvents.Entry> entries = events.of(new AuditEvents.Request(request.getMethod(), request.getRequestURI(),
                request.getQueryString(), address, status,
                (String) request.getAttribute(AccessPolicy.BREAK_GLASS_ATTRIBUTE)), context, clock.instant());
        try {
            boolean repeat = RefusalAggregator.aggregates(status) && !refusals.opens(new RefusalAggregator.Key(address.client(),
                    context.caller() == null ? null : context.caller().subject(), request.getMethod(), request.getRequestURI(),
                    status), entries);
            if (!repeat) { // a repeat is counted, and recorded with its window's summary
                if (READS.contains(request.getMethod()) && status != HttpServletResponse.SC_CREATED
                        && status != HttpServletResponse.SC_ACCEPTED) {
                    trail.recordReads(entries);
                } else {
                    trail.record(entries);
                }
            }
            if (!failed && held != null) {
                held.copyBodyToResponse();
            }
        } catch (AuditUnavailableException e) {
            log.error("request refused: {}", e.getMessage());
            if (!response.isCommitted()) {
                response.reset();
                OperationOutcomes.write(fhir, response, HttpServletResponse.SC_SERVICE_UNAVAILABLE,
                        OperationOutcomes.error(OperationOutcome.IssueType.TRANSIENT, UNAVAILABLE));
            }
        }
    }
}
