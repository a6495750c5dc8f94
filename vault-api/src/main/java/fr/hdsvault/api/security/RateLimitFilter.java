package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import fr.hdsvault.api.web.ClientAddress;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * A token bucket per client: the authenticated caller (so that one user cannot exhaust
 * another's budget), or the network address of an anonymous request. Beyond the budget: 429
 * with {@code Retry-After} and an OperationOutcome. Health probes are not limited. Runs after
 * authentication; requests refused at authentication are limited by {@link RefusalLimiter}.
 */
final class RateLimitFilter extends OncePerRequestFilter {

    private final TokenBuckets buckets;
    private final FhirContext fhir;

    RateLimitFilter(SecurityProperties.RateLimit limit, FhirContext fhir) {
        this.buckets = new TokenBuckets(limit.perSecond(), limit.burst());
        this.fhir = fhir;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !buckets.enabled() || request.getRequestURI().startsWith("/actuator/health");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long waitNanos = buckets.take(clientKey(request));
        if (waitNanos > 0) {
            tooMany(fhir, response, waitNanos, "Too many requests from this client: retry after the delay in Retry-After");
            return;
        }
        chain.doFilter(request, response);
    }

    static void tooMany(FhirContext fhir, HttpServletResponse response, long waitNanos, String why) throws IOException {
        response.setHeader("Retry-After", String.valueOf(TokenBuckets.retryAfterSeconds(waitNanos)));
        OperationOutcomes.write(fhir, response, 429, OperationOutcomes.error(OperationOutcome.IssueType.THROTTLED, why));
    }

    private static String clientKey(HttpServletRequest request) {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        if (auth != null && auth.isAuthenticated() && !"anonymousUser".equals(auth.getPrincipal())) {
            return "caller:" + auth.getName();
        }
        return "address:" + ClientAddress.of(request).client();
    }
}
