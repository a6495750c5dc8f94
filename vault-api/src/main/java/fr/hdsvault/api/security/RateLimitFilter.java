package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * A token bucket per client: the authenticated caller (so that one user cannot exhaust
 * another's budget), or the network address of an anonymous request. Beyond the budget: 429
 * with {@code Retry-After} and an OperationOutcome. Health probes are not limited. Runs after
 * authentication; requests refused at authentication (401) are not counted.
 */
final class RateLimitFilter extends OncePerRequestFilter {

    private static final int MAX_TRACKED = 100_000;

    private final double perNano;
    private final double burst;
    private final FhirContext fhir;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    RateLimitFilter(SecurityProperties.RateLimit limit, FhirContext fhir) {
        this.perNano = limit.perSecond() / 1e9;
        this.burst = Math.max(1, limit.burst());
        this.fhir = fhir;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return perNano <= 0 || request.getRequestURI().startsWith("/actuator/health");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long now = System.nanoTime();
        if (buckets.size() > MAX_TRACKED) {
            buckets.values().removeIf(b -> b.full(now)); // a full bucket holds no state worth keeping
        }
        long waitNanos = buckets.computeIfAbsent(clientKey(request), k -> new Bucket(burst, now)).take(now);
        if (waitNanos > 0) {
            response.setHeader("Retry-After", String.valueOf(Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L)));
            OperationOutcomes.write(fhir, response, 429, OperationOutcomes.error(OperationOutcome.IssueType.THROTTLED,
                    "Too many requests from this client: retry after the delay in Retry-After"));
            return;
        }
        chain.doFilter(request, response);
    }

    private static String clientKey(HttpServletRequest request) {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        if (auth != null && auth.isAuthenticated() && !"anonymousUser".equals(auth.getPrincipal())) {
            return "caller:" + auth.getName();
        }
        return "address:" + fr.hdsvault.api.web.ClientAddress.of(request).client();
    }

    private final class Bucket {
        private double tokens;
        private long updated;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updated = now;
        }

        /** Takes one token; returns 0, or how long until one is available. */
        synchronized long take(long now) {
            tokens = Math.min(burst, tokens + (now - updated) * perNano);
            updated = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) / perNano);
        }

        synchronized boolean full(long now) {
            return tokens + (now - updated) * perNano >= burst;
        }
    }
}
