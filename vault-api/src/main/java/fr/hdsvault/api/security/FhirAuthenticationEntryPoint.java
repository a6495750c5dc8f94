package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.OperationOutcomes;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.oauth2.server.resource.web.BearerTokenAuthenticationEntryPoint;
import org.springframework.security.oauth2.server.resource.web.access.BearerTokenAccessDeniedHandler;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.access.AccessDeniedHandler;

/**
 * 401 and 403 as FHIR clients expect them: the RFC 6750 {@code WWW-Authenticate} header from
 * Spring Security, and an OperationOutcome body. The diagnostics say why without echoing the token.
 */
public final class FhirAuthenticationEntryPoint implements AuthenticationEntryPoint, AccessDeniedHandler {

    private final FhirContext fhir;
    private final BearerTokenAuthenticationEntryPoint bearer = new BearerTokenAuthenticationEntryPoint();
    private final BearerTokenAccessDeniedHandler denied = new BearerTokenAccessDeniedHandler();

    public FhirAuthenticationEntryPoint(FhirContext fhir) {
        this.fhir = fhir;
    }

    @Override
    public void commence(HttpServletRequest request, HttpServletResponse response, AuthenticationException e)
            throws IOException {
        bearer.commence(request, response, e);
        String why = request.getHeader("Authorization") == null
                ? "Authentication required: send a bearer token (Authorization: Bearer ...)"
                : "The bearer token was refused: " + reason(e);
        OperationOutcomes.write(fhir, response, HttpServletResponse.SC_UNAUTHORIZED,
                OperationOutcomes.error(OperationOutcome.IssueType.LOGIN, why));
    }

    /** Spring's and the vault's own reasons name the failed check, never the token's content. */
    private static String reason(AuthenticationException e) {
        String message = e.getMessage();
        return message == null || message.isBlank()
                ? "it is malformed, expired, not yet valid, or not issued for this vault" : message;
    }

    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, AccessDeniedException e)
            throws IOException {
        denied.handle(request, response, e);
        OperationOutcomes.write(fhir, response, HttpServletResponse.SC_FORBIDDEN,
                OperationOutcomes.error(OperationOutcome.IssueType.FORBIDDEN, "Access denied for this token"));
    }
}
