package fr.hdsvault.api.web;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Tomcat's error report, as a FHIR OperationOutcome instead of an HTML page: for what Tomcat
 * refuses before any filter runs (a malformed request line or URI, an encoded {@code ../},
 * {@code %00} or {@code %5C}, headers too large or too many) and for any error status that no
 * layer above wrote a body for. The diagnostics are fixed texts per status: they never quote the
 * request, and never carry an exception's message or stack trace. Installed as the host's error
 * report valve ({@link WebServerConfig}).
 */
public final class FhirErrorReportValve extends ErrorReportValve {

    private static final FhirContext FHIR = FhirContext.forR4Cached();

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        if (status < 400 || response.getContentWritten() > 0) {
            return;
        }
        if (status == 505) {
            // An HTTP version Tomcat does not speak is the client's error: 5xx is for the vault's own failures.
            response.setStatus(400);
            status = 400;
        }
        AtomicBoolean ioAllowed = new AtomicBoolean(true);
        response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
        if (!ioAllowed.get() || !response.setErrorReported()) {
            return;
        }
        try {
            response.setContentType(OperationOutcomes.FHIR_JSON);
            SecurityHeaders.apply(response);
            PrintWriter writer = response.getReporter();
            if (writer != null) {
                writer.write(FHIR.newJsonParser().encodeResourceToString(outcome(status)));
            }
        } catch (IOException | IllegalStateException e) {
            // the connection is gone: nothing left to tell the client
        }
    }

    static OperationOutcome outcome(int status) {
        return switch (status) {
            case 400 -> OperationOutcomes.error(OperationOutcome.IssueType.STRUCTURE,
                    "Malformed HTTP request (request line, URI, characters, headers or parameters): refused");
            case 401 -> OperationOutcomes.error(OperationOutcome.IssueType.LOGIN, "Authentication required");
            case 403 -> OperationOutcomes.error(OperationOutcome.IssueType.FORBIDDEN, "Access denied");
            case 404 -> OperationOutcomes.error(OperationOutcome.IssueType.NOTFOUND, "No such endpoint");
            case 405 -> OperationOutcomes.error(OperationOutcome.IssueType.NOTSUPPORTED, "Method not allowed on this endpoint");
            case 408 -> OperationOutcomes.error(OperationOutcome.IssueType.TIMEOUT, "The request was not received in time");
            case 413 -> OperationOutcomes.error(OperationOutcome.IssueType.TOOLONG, "Request too large");
            case 414 -> OperationOutcomes.error(OperationOutcome.IssueType.TOOLONG, "Request URI too long");
            case 415 -> OperationOutcomes.error(OperationOutcome.IssueType.NOTSUPPORTED, "Unsupported content type");
            case 429 -> OperationOutcomes.error(OperationOutcome.IssueType.THROTTLED, "Too many requests");
            case 431 -> OperationOutcomes.error(OperationOutcome.IssueType.TOOLONG, "Request headers too large");
            case 503 -> OperationOutcomes.error(OperationOutcome.IssueType.TRANSIENT, "The vault is not available; retry later");
            default -> status < 500
                    ? OperationOutcomes.error(OperationOutcome.IssueType.INVALID, "The request was refused (HTTP " + status + ")")
                    : OperationOutcomes.error(OperationOutcome.IssueType.EXCEPTION,
                            "The vault failed to process the request (HTTP " + status + "); the incident is logged");
        };
    }
}
