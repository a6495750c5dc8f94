package fr.hdsvault.api.fhir;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.web.SecurityHeaders;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.hl7.fhir.r4.model.OperationOutcome;

/** FHIR OperationOutcome responses written outside HAPI (security filters answer before HAPI sees a request). */
public final class OperationOutcomes {

    public static final String FHIR_JSON = "application/fhir+json;charset=UTF-8";

    private OperationOutcomes() {
    }

    public static OperationOutcome error(OperationOutcome.IssueType type, String diagnostics) {
        OperationOutcome outcome = new OperationOutcome();
        outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(type).setDiagnostics(diagnostics);
        return outcome;
    }

    public static void write(FhirContext fhir, HttpServletResponse response, int status, OperationOutcome outcome)
            throws IOException {
        response.setStatus(status);
        response.setContentType(FHIR_JSON);
        SecurityHeaders.apply(response); // also after a reset() cleared what the first filter set
        response.getWriter().write(fhir.newJsonParser().encodeResourceToString(outcome));
    }
}
