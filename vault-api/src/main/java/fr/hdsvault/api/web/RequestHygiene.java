package fr.hdsvault.api.web;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * What a request must look like before any library reads it, answered with an OperationOutcome
 * (400) instead of an exception deep inside one:
 * <ul>
 *   <li>a query string whose %-escapes are malformed is refused (HAPI's parser would fail on it
 *       with a 500);</li>
 *   <li>more than one {@code Authorization} header is refused (RFC 6750: one way, one token),
 *       rather than silently using the first;</li>
 *   <li>conditional headers whose value is not an HTTP-date ({@code If-Modified-Since},
 *       {@code If-Unmodified-Since}) are ignored, as RFC 9110 (13.1.3, 13.1.4) requires of a
 *       recipient, instead of reaching HAPI, which fails on them.</li>
 * </ul>
 */
public final class RequestHygiene extends OncePerRequestFilter {

    private static final Set<String> DATE_HEADERS = Set.of("if-modified-since", "if-unmodified-since");
    private static final Pattern BAD_ESCAPE = Pattern.compile("%(?![0-9A-Fa-f]{2})");

    private final FhirContext fhir;

    public RequestHygiene(FhirContext fhir) {
        this.fhir = fhir;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String query = request.getQueryString();
        if (query != null && BAD_ESCAPE.matcher(query).find()) {
            refuse(response, "The query string has a malformed %-escape: encode '%' as %25");
            return;
        }
        if (Collections.list(request.getHeaders("Authorization")).size() > 1) {
            refuse(response, "Send one Authorization header: one token, one way (RFC 6750)");
            return;
        }
        boolean invalidDate = false;
        for (String name : DATE_HEADERS) {
            String value = request.getHeader(name);
            invalidDate |= value != null && !httpDate(value);
        }
        chain.doFilter(invalidDate ? new IgnoringInvalidDates(request) : request, response);
    }

    private void refuse(HttpServletResponse response, String why) throws IOException {
        OperationOutcomes.write(fhir, response, HttpServletResponse.SC_BAD_REQUEST,
                OperationOutcomes.error(OperationOutcome.IssueType.INVALID, why));
    }

    static boolean httpDate(String value) {
        try {
            DateTimeFormatter.RFC_1123_DATE_TIME.parse(value.strip());
            return true;
        } catch (DateTimeParseException e) {
            return false;
        }
    }

    private static boolean ignored(String name, String value) {
        return name != null && DATE_HEADERS.contains(name.toLowerCase(Locale.ROOT)) && value != null && !httpDate(value);
    }

    private static final class IgnoringInvalidDates extends HttpServletRequestWrapper {
        IgnoringInvalidDates(HttpServletRequest request) {
            super(request);
        }

        @Override
        public String getHeader(String name) {
            String value = super.getHeader(name);
            return ignored(name, value) ? null : value;
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            return ignored(name, super.getHeader(name)) ? Collections.emptyEnumeration() : super.getHeaders(name);
        }

        @Override
        public long getDateHeader(String name) {
            return ignored(name, super.getHeader(name)) ? -1 : super.getDateHeader(name);
        }

        @Override
        public Enumeration<String> getHeaderNames() {
            List<String> names = Collections.list(super.getHeaderNames()).stream()
                    .filter(n -> !ignored(n, super.getHeader(n))).toList();
            return Collections.enumeration(names);
        }
    }
}
