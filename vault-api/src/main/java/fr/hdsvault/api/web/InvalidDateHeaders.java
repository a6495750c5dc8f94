package fr.hdsvault.api.web;

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
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Conditional request headers whose value is not an HTTP-date ({@code If-Modified-Since},
 * {@code If-Unmodified-Since}) are ignored, as RFC 9110 (13.1.3, 13.1.4) requires of a recipient,
 * instead of reaching HAPI, which fails on them with a NullPointerException (500).
 */
public final class InvalidDateHeaders extends OncePerRequestFilter {

    private static final Set<String> DATE_HEADERS = Set.of("if-modified-since", "if-unmodified-since");

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        boolean invalid = false;
        for (String name : DATE_HEADERS) {
            String value = request.getHeader(name);
            invalid |= value != null && !httpDate(value);
        }
        chain.doFilter(invalid ? new Ignoring(request) : request, response);
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

    private static final class Ignoring extends HttpServletRequestWrapper {
        Ignoring(HttpServletRequest request) {
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
