package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.web.filter.OncePerRequestFilter;

/** A filter that spends tokens of per-key buckets and answers 429 when one is empty; health probes are never limited. */
abstract class BucketFilter extends OncePerRequestFilter {

    final TokenBuckets buckets;
    private final FhirContext fhir;

    BucketFilter(double perSecond, int burst, FhirContext fhir) {
        this.buckets = new TokenBuckets(perSecond, burst);
        this.fhir = fhir;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !buckets.enabled() || request.getRequestURI().startsWith("/actuator/health");
    }

    /** 429 with Retry-After and an OperationOutcome saying why. */
    void tooMany(HttpServletResponse response, long waitNanos, String why) throws IOException {
        response.setHeader("Retry-After", String.valueOf(TokenBuckets.retryAfterSeconds(waitNanos)));
        OperationOutcomes.write(fhir, response, 429, OperationOutcomes.error(OperationOutcome.IssueType.THROTTLED, why));
    }
}
