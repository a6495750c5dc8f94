package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.web.ClientAddress;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * Refusals are limited per client address: each 401 or 403 an address receives takes a token
 * from its bucket; once the bucket is empty, the refusals that address earns are answered 429
 * (with {@code Retry-After} and an OperationOutcome) instead, until the bucket refills. A request
 * that authenticates and is allowed is never held back, so one client flooding bad tokens from
 * behind a hospital's NAT does not lock out the others at that address. Its 429s are recorded
 * like the 401s they replace, aggregated (audit.RefusalAggregator), so the trail does not grow
 * with the flood. Runs inside the audit filter, which holds the response until it is recorded.
 */
public final class RefusalLimiter extends BucketFilter {

    public RefusalLimiter(SecurityProperties.RefusalLimit limit, FhirContext fhir) {
        super(limit.perSecond(), limit.burst(), fhir);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        chain.doFilter(request, response);
        int status = response.getStatus();
        if (status != HttpServletResponse.SC_UNAUTHORIZED && status != HttpServletResponse.SC_FORBIDDEN) {
            return;
        }
        long waitNanos = buckets.take(ClientAddress.of(request).client());
        if (waitNanos > 0 && !response.isCommitted()) {
            response.reset();
            tooMany(response, waitNanos,
                    "Too many refused requests from this address: retry after the delay in Retry-After");
        }
    }
}
