package fr.hdsvault.api.security;

import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import jakarta.servlet.http.HttpServletRequest;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The one place that decides what the current caller may do to a resource type, and in which
 * compartments. Every FHIR path (read, vread, history, search, $everything, each bundle entry)
 * asks it before touching the repository, and passes the answer down so that the repository
 * filters by compartment in its queries.
 *
 * <p>Refusals: a role or scope that does not cover the type and interaction answers 403 (the
 * caller learns nothing about any record). A record in a compartment the caller may not see
 * answers 404, exactly like a record that does not exist, so that existence does not leak
 * across patients (docs/access-control.md).
 */
public final class AccessPolicy {

    public static final String BREAK_GLASS_HEADER = "X-Break-Glass-Reason";
    /** Request attribute set when break-glass was used, for the audit trail. */
    public static final String BREAK_GLASS_ATTRIBUTE = "fr.hdsvault.breakGlassReason";
    public static final String AUDIT_EVENT = "AuditEvent";
    private static final int MAX_REASON = 500;

    private static final Logger log = LoggerFactory.getLogger(AccessPolicy.class);

    private final boolean breakGlassEnabled;

    public AccessPolicy(boolean breakGlassEnabled) {
        this.breakGlassEnabled = breakGlassEnabled;
    }

    /** The authenticated caller of the current request. */
    public static Caller currentCaller() {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        if (auth != null && auth.getPrincipal() instanceof Caller caller) {
            return caller;
        }
        if (auth != null && auth.getPrincipal() instanceof ClientCertificates.CertificateCaller certified) {
            return certified.caller();
        }
        throw new AuthenticationException("No authenticated caller");
    }

    /**
     * What the current caller may see or change when doing {@code permission} on {@code type}.
     * @throws ForbiddenOperationException (403) when its role or scopes do not cover it
     */
    public Visibility visibility(String type, Permission permission) {
        Caller caller = currentCaller();
        if (AUDIT_EVENT.equals(type)) {
            return auditVisibility(caller, permission);
        }
        if (!caller.role().clinicalCap().contains(permission)) {
            throw forbidden("The " + caller.role().claimValue() + " role may not " + verb(permission) + " clinical resources");
        }
        boolean granted = false;
        boolean wholeVault = false;
        for (SmartScope scope : caller.scopes()) {
            if (scope.grants(type, permission)) {
                granted = true;
                wholeVault |= scope.context() != SmartScope.Context.PATIENT;
            }
        }
        if (caller.role() == Role.PATIENT) {
            wholeVault = false; // a patient's user/ scope still means its own record
        }
        String reason = breakGlassReason();
        if (reason != null) {
            return breakGlass(caller, type, permission, reason);
        }
        if (!granted) {
            throw forbidden("The token's scopes do not grant " + verb(permission) + " on " + type
                    + " (needs e.g. user/" + type + "." + permission.letter() + ")");
        }
        return wholeVault ? Visibility.ALL : Visibility.patient(caller.patient());
    }

    /** AuditEvents are written by the vault alone; auditors read them all, a patient those about itself. */
    private static Visibility auditVisibility(Caller caller, Permission permission) {
        if (permission != Permission.READ && permission != Permission.SEARCH) {
            throw forbidden("AuditEvents are written by the vault only");
        }
        return switch (caller.role()) {
            case AUDITOR -> Visibility.ALL;
            case PATIENT -> Visibility.patient(caller.patient());
            default -> throw forbidden("The " + caller.role().claimValue() + " role may not read the audit trail");
        };
    }

    private Visibility breakGlass(Caller caller, String type, Permission permission, String reason) {
        if (!breakGlassEnabled) {
            throw forbidden("Break-glass access is not enabled on this vault");
        }
        if (caller.role() != Role.PRACTITIONER) {
            throw forbidden("Only practitioners may use break-glass access");
        }
        if (permission != Permission.READ && permission != Permission.SEARCH) {
            throw forbidden("Break-glass access is read-only");
        }
        if (reason.isBlank() || reason.length() > MAX_REASON) {
            throw forbidden("Break-glass needs a reason of 1 to " + MAX_REASON + " characters in " + BREAK_GLASS_HEADER);
        }
        HttpServletRequest request = currentRequest();
        if (request != null) {
            request.setAttribute(BREAK_GLASS_ATTRIBUTE, reason);
        }
        // Who and what kind, never the reason or the record: both may carry patient data.
        log.warn("break-glass access granted: subject={} interaction={} type={}", caller.subject(), verb(permission), type);
        return Visibility.ALL; // flagged on the request above, for the audit trail
    }

    private static String breakGlassReason() {
        HttpServletRequest request = currentRequest();
        return request == null ? null : request.getHeader(BREAK_GLASS_HEADER);
    }

    private static HttpServletRequest currentRequest() {
        return RequestContextHolder.getRequestAttributes() instanceof ServletRequestAttributes a ? a.getRequest() : null;
    }

    private static ForbiddenOperationException forbidden(String message) {
        return new ForbiddenOperationException(message);
    }

    private static String verb(Permission p) {
        return p.name().toLowerCase(Locale.ROOT);
    }
}
