package fr.hdsvault.api.fhir;

import fr.hdsvault.api.audit.AuditContext;
import fr.hdsvault.api.metrics.FhirRequestMetrics;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import fr.hdsvault.api.web.TrustedProxies;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.Set;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Serves a plain read ({@code GET /fhir/Type/id}, no parameter, JSON or anything accepted, no
 * conditional or break-glass header) with the resource's JSON as it was stored, instead of
 * parsing it into HAPI's model and encoding it again: the bytes are the same (the stored JSON is
 * the resource with its id and meta, as HAPI's JSON parser wrote it; {@code StoredJsonReadsTest}
 * compares both paths), and parsing and encoding were a fifth of a read's CPU.
 *
 * <p>Everything else about the request stays as on HAPI's path: it runs after authentication,
 * asks the access policy the same question, names the resource and its patient to the audit
 * trail, and answers with HAPI's headers. Whatever this path would not answer with a 200 (a
 * refusal, an unknown, deleted or damaged record, a database out) goes to HAPI, which answers it
 * as it always did, with its OperationOutcome, its log line and its integrity count.
 */
public final class StoredJsonReads extends OncePerRequestFilter {

    private static final String PREFIX = "/fhir/";
    private static final Set<String> JSON = Set.of("*/*", "application/fhir+json", "application/json");
    /** RFC 9110's IMF-fixdate, as HAPI writes Last-Modified (two-digit day, unlike the JDK's RFC 1123 formatter). */
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US)
            .withZone(ZoneOffset.UTC);

    private final Set<String> types;
    private final VaultRepository repository;
    private final AccessPolicy access;
    private final TrustedProxies proxies;
    private final VaultFhirServer server;
    private final java.util.concurrent.atomic.LongAdder served = new java.util.concurrent.atomic.LongAdder();

    public StoredJsonReads(Set<String> types, VaultRepository repository, AccessPolicy access, TrustedProxies proxies,
                           VaultFhirServer server) {
        this.types = types;
        this.repository = repository;
        this.access = access;
        this.proxies = proxies;
        this.server = server;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String[] target = plainRead(request);
        Optional<VaultRepository.StoredJson> stored = Optional.empty();
        if (target != null) {
            try {
                Visibility visibility = access.visibility(target[0], Permission.READ);
                stored = repository.readStored(target[0], target[1], visibility);
            } catch (RuntimeException e) {
                stored = Optional.empty(); // refused, or failed: HAPI's path answers it
            }
        }
        if (stored.isEmpty()) {
            chain.doFilter(request, response);
            return;
        }
        write(request, response, target[0], target[1], stored.get());
        served.increment();
    }

    /** How many reads this path answered (tests: that it answered, and what it left to HAPI). */
    public long served() {
        return served.sum();
    }

    /** {@code [type, id]} of a plain read this path serves, or null. */
    private String[] plainRead(HttpServletRequest request) {
        if (!"GET".equals(request.getMethod()) || request.getQueryString() != null
                || request.getHeader("If-None-Match") != null || request.getHeader("If-Modified-Since") != null
                || request.getHeader(AccessPolicy.BREAK_GLASS_HEADER) != null || !acceptsJson(request.getHeader("Accept"))) {
            return null;
        }
        String uri = request.getRequestURI();
        if (!uri.startsWith(PREFIX)) {
            return null;
        }
        String rest = uri.substring(PREFIX.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || rest.indexOf('/', slash + 1) >= 0) {
            return null;
        }
        String type = rest.substring(0, slash);
        String id = rest.substring(slash + 1);
        if (AccessPolicy.AUDIT_EVENT.equals(type) || !types.contains(type) || !FhirIds.valid(id)) {
            return null;
        }
        return new String[] {type, id};
    }

    private static boolean acceptsJson(String accept) {
        if (accept == null || accept.isBlank()) {
            return true;
        }
        if (accept.indexOf(',') >= 0) {
            return false; // a list: HAPI negotiates it
        }
        int parameters = accept.indexOf(';');
        return JSON.contains((parameters < 0 ? accept : accept.substring(0, parameters)).trim());
    }

    private void write(HttpServletRequest request, HttpServletResponse response, String type, String id,
                       VaultRepository.StoredJson stored) throws IOException {
        AuditContext.of(request).ifPresent(audit -> audit.touched(type + "/" + id, stored.compartment()));
        FhirRequestMetrics.routed(request, "read", type);
        response.setStatus(HttpServletResponse.SC_OK);
        server.addHeadersToResponse(response); // X-Powered-By, as HAPI's path
        response.setHeader("ETag", "W/\"" + stored.version() + "\"");
        response.setHeader("X-Request-ID", server.requestIdOf(request));
        response.setHeader("Content-Location", proxies.publicBase(request) + PREFIX + type + "/" + id + "/_history/" + stored.version());
        response.setHeader("Last-Modified", HTTP_DATE.format(stored.lastUpdated()));
        response.setContentType("application/fhir+json;charset=UTF-8");
        response.setContentLength(stored.json().length);
        response.getOutputStream().write(stored.json());
    }
}
