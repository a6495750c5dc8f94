package fr.hdsvault.api.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exception of the FHIR server becomes an OperationOutcome whose issue code says what
 * kind of error it is (not-found, forbidden, conflict...), instead of HAPI's "processing" for all.
 * A 5xx never shows Java internals: unless the vault wrote the message for the client
 * ({@link VaultServerException}), the client reads a fixed text, and the log gets the exception
 * classes and code locations, never a message (which may quote request content).
 */
@Interceptor
public final class ExceptionOutcomes {

    private static final Logger log = LoggerFactory.getLogger(ExceptionOutcomes.class);
    static final String SERVER_ERROR = "The vault failed to process this request; the incident is logged without its content";

    /** An exception class name in a message (qualified or not), with what introduces it: Java internals, not for clients. */
    private static final java.util.regex.Pattern JAVA_INTERNALS = java.util.regex.Pattern.compile(
            "\\s*(?:caused by:?\\s*)?(?:[a-z][\\w$]*\\.)*[A-Z][\\w$]*(?:Exception|Error)\\b(?:\\s+at\\b)?:?");

    @Hook(Pointcut.SERVER_PRE_PROCESS_OUTGOING_EXCEPTION)
    public BaseServerResponseException outcome(RequestDetails request, Throwable thrown) {
        DataFormatException badInput = cause(thrown, DataFormatException.class);
        String outage = Incidents.unavailable(thrown);
        BaseServerResponseException e = thrown instanceof BaseServerResponseException b && (badInput == null || b.getStatusCode() < 500)
                && (outage == null || b.getStatusCode() < 500)
                ? b
                // HAPI fails with an unchecked DataFormatException on some malformed parameter values: the client's error.
                : badInput != null ? new InvalidRequestException(badInput.getMessage())
                : outage != null ? new VaultUnavailableException(outage)
                : new InternalErrorException(SERVER_ERROR, thrown);
        int status = e.getStatusCode();
        if (e instanceof VaultUnavailableException) {
            log.warn("FHIR {} answered 503: {}", request.getRestOperationType(), e.getMessage());
        } else if (status >= 500 && !(e instanceof VaultServerException)) {
            log.error("FHIR {} failed with HTTP {}: {}", request.getRestOperationType(), status, Incidents.describe(thrown));
            e = new InternalErrorException(SERVER_ERROR);
        }
        if (e.getOperationOutcome() == null) {
            e.setOperationOutcome(OperationOutcomes.error(issueType(status), diagnostics(e)));
        }
        return e;
    }

    private static String diagnostics(BaseServerResponseException e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? "HTTP " + e.getStatusCode() : withoutJavaInternals(message);
    }

    /** A message as the client may read it: the names of Java exception classes taken out. */
    static String withoutJavaInternals(String message) {
        return JAVA_INTERNALS.matcher(message).replaceAll(" ").replaceAll("\\s{2,}", " ").strip();
    }

    private static <T extends Throwable> T cause(Throwable thrown, Class<T> type) {
        java.util.Set<Throwable> seen = new java.util.HashSet<>();
        for (Throwable t = thrown; t != null && seen.add(t); t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    static OperationOutcome.IssueType issueType(int status) {
        return switch (status) {
            case 401 -> OperationOutcome.IssueType.LOGIN;
            case 403 -> OperationOutcome.IssueType.FORBIDDEN;
            case 404, 410 -> OperationOutcome.IssueType.NOTFOUND;
            case 405, 406, 415, 501 -> OperationOutcome.IssueType.NOTSUPPORTED;
            case 409, 412 -> OperationOutcome.IssueType.CONFLICT;
            case 413 -> OperationOutcome.IssueType.TOOLONG;
            case 422 -> OperationOutcome.IssueType.PROCESSING;
            case 429 -> OperationOutcome.IssueType.THROTTLED;
            case 503 -> OperationOutcome.IssueType.TRANSIENT;
            default -> status >= 500 ? OperationOutcome.IssueType.EXCEPTION : OperationOutcome.IssueType.INVALID;
        };
    }
}
