package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.web.ClientAddress;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

/**
 * A token bucket per client: the authenticated caller (so that one user cannot exhaust
 * another's budget), or the network address of an anonymous request. Beyond the budget: 429
 * with {@code Retry-After} and an OperationOutcome. Health probes are not limited. Runs after
 * authentication; requests refused at authentication are limited by {@link RefusalLimiter}.
 */
final class RateLimitFilter extends BucketFilter {

    RateLimitFilter(SecurityProperties.RateLimit limit, FhirContext fhir) {
        super(limit.perSecond(), limit.burst(), fhir);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long waitNanos = buckets.take(clientKey(request));
        if (waitNanos > 0) {
            tooMany(response, waitNanos, "Too many requests from this client: retry after the delay in Retry-After");
            return;
        }
        chain.doFilter(request, response);
    }

    private static String clientKey(HttpServletRequest request) {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        if (auth != null && auth.isAuthenticated() && !"anonymousUser".equals(auth.getPrincipal())) {
            return "caller:" + auth.getName();
        }
        return "address:" + ClientAddress.of(request).client();
    }
}
