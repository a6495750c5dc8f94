package fr.hdsvault.api.web;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.Incidents;
import fr.hdsvault.api.fhir.OperationOutcomes;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.ErrorResponse;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.server.ResponseStatusException;

/**
 * Errors of the admin API (Spring MVC: /admin/**) as FHIR OperationOutcomes, like every other
 * error of the vault: the vault's own reasons as they are; a parameter the client got wrong named,
 * never its value; anything unexpected a 500 with a fixed text, logged without content.
 */
@RestControllerAdvice
public class AdminErrors {

    private static final Logger log = LoggerFactory.getLogger(AdminErrors.class);

    private final FhirContext fhir;

    public AdminErrors(FhirContext fhir) {
        this.fhir = fhir;
    }

    @ExceptionHandler(ResponseStatusException.class)
    ResponseEntity<String> status(ResponseStatusException e) {
        return outcome(e.getStatusCode().value(), e.getReason() == null ? "HTTP " + e.getStatusCode().value() : e.getReason());
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<String> mismatch(MethodArgumentTypeMismatchException e) {
        return outcome(400, "Parameter " + e.getName() + " has an invalid value");
    }

    @ExceptionHandler(MissingServletRequestParameterException.class)
    ResponseEntity<String> missing(MissingServletRequestParameterException e) {
        return outcome(400, "Parameter " + e.getParameterName() + " is required");
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<String> other(Exception e) {
        String outage = fr.hdsvault.api.fhir.Incidents.unavailable(e);
        if (outage != null) {
            log.warn("admin request answered 503: {}", outage);
            ResponseEntity<String> answer = outcome(503, outage);
            return ResponseEntity.status(503).headers(answer.getHeaders())
                    .header("Retry-After", fr.hdsvault.api.fhir.VaultUnavailableException.RETRY_AFTER_SECONDS).body(answer.getBody());
        }
        if (e instanceof ErrorResponse known && known.getStatusCode().value() < 500) { // Spring's own 4xx: not found, not readable...
            return outcome(known.getStatusCode().value(), "The request was refused (HTTP " + known.getStatusCode().value() + ")");
        }
        log.error("admin request failed: {}", Incidents.describe(e));
        return outcome(500, "The vault failed to process this request; the incident is logged without its content");
    }

    private ResponseEntity<String> outcome(int status, String diagnostics) {
        OperationOutcome.IssueType type = switch (status) {
            case 401 -> OperationOutcome.IssueType.LOGIN;
            case 403 -> OperationOutcome.IssueType.FORBIDDEN;
            case 404 -> OperationOutcome.IssueType.NOTFOUND;
            case 409 -> OperationOutcome.IssueType.CONFLICT;
            default -> status >= 500 ? OperationOutcome.IssueType.EXCEPTION : OperationOutcome.IssueType.INVALID;
        };
        return ResponseEntity.status(HttpStatus.valueOf(status)).contentType(MediaType.parseMediaType(OperationOutcomes.FHIR_JSON))
                .body(fhir.newJsonParser().encodeResourceToString(OperationOutcomes.error(type, diagnostics)));
    }
}
