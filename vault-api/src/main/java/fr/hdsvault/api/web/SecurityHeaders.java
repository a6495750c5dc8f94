package fr.hdsvault.api.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The headers every response carries, whichever layer answers (the FHIR server, Spring Security,
 * the admin API, or Tomcat refusing a malformed request): HSTS, no sniffing, no framing, no
 * caching, no referrer, a content security policy that allows nothing. As a filter it runs first;
 * {@link FhirErrorReportValve} applies the same set to what Tomcat answers without the filters.
 */
public final class SecurityHeaders extends OncePerRequestFilter {

    static final Map<String, String> HEADERS = Map.of(
            "Strict-Transport-Security", "max-age=31536000 ; includeSubDomains",
            "X-Content-Type-Options", "nosniff",
            "X-Frame-Options", "DENY",
            "Cache-Control", "no-cache, no-store, max-age=0, must-revalidate",
            "Pragma", "no-cache",
            "Expires", "0",
            "Referrer-Policy", "no-referrer",
            "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");

    /**
     * The console's pages (static files, no data: docs/console.md) load their own script and style
     * and call the vault's API, nothing else: no inline script, no other origin (but the identity
     * provider's token endpoint when the console logs in there), no framing.
     */
    static final String CONSOLE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'%s; "
            + "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    public static final String CONSOLE_PATH = "/console/";

    private final String consolePolicy;

    /** @param consoleTokenOrigin the origin of the provider's token endpoint, which the console's login calls; or null */
    public SecurityHeaders(String consoleTokenOrigin) {
        this.consolePolicy = CONSOLE_POLICY.formatted(consoleTokenOrigin == null ? "" : " " + consoleTokenOrigin);
    }

    public static void apply(HttpServletResponse response) {
        HEADERS.forEach(response::setHeader);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        apply(response);
        if (request.getRequestURI().startsWith(CONSOLE_PATH) && "GET".equals(request.getMethod())) {
            response.setHeader("Content-Security-Policy", consolePolicy);
        }
        chain.doFilter(request, response);
    }
}
