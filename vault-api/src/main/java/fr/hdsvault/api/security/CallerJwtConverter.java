package fr.hdsvault.api.security;

import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import org.springframework.core.convert.converter.Converter;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;

/**
 * Reads the vault's view of a caller out of a verified token: role, SMART scopes, patient in
 * context, fhirUser, client. A token whose claims cannot be honoured (no known role, a patient
 * scope without a patient) is refused as invalid: 401, like a bad signature.
 */
public final class CallerJwtConverter implements Converter<Jwt, AbstractAuthenticationToken> {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

    private final String roleClaim;
    private final Role defaultRole;

    /**
     * @param roleClaim   the claim naming the role ({@code vault_role} for the single-node issuer)
     * @param defaultRole the role of tokens without that claim (an identity provider that only
     *                    serves practitioners), or null to refuse them
     */
    public CallerJwtConverter(String roleClaim, Role defaultRole) {
        this.roleClaim = roleClaim;
        this.defaultRole = defaultRole;
    }

    @Override
    public AbstractAuthenticationToken convert(Jwt jwt) {
        String roleValue = jwt.getClaimAsString(roleClaim);
        Role role = roleValue == null ? defaultRole : Role.fromClaim(roleValue).orElse(null);
        if (role == null) {
            throw new InvalidBearerTokenException("The token carries no known role (claim " + roleClaim + ")");
        }
        List<SmartScope> scopes = SmartScope.parseAll(scopeString(jwt));
        String patient = jwt.getClaimAsString("patient");
        boolean needsPatient = role == Role.PATIENT || scopes.stream().anyMatch(s -> s.context() == SmartScope.Context.PATIENT);
        if (needsPatient && (patient == null || patient.isBlank())) {
            throw new InvalidBearerTokenException("The token has patient-context access but no patient claim");
        }
        if (patient != null && !ID.matcher(patient).matches()) {
            throw new InvalidBearerTokenException("The token's patient claim is not a resource id");
        }
        String client = jwt.getClaimAsString("azp") != null ? jwt.getClaimAsString("azp") : jwt.getClaimAsString("client_id");
        Caller caller = new Caller(jwt.getSubject(), role, scopes, patient, jwt.getClaimAsString("fhirUser"), client, "jwt",
                jwt.getId());
        return new CallerAuthentication(caller, jwt);
    }

    /** OAuth servers write scopes as one space-separated {@code scope} string or an {@code scp} list. */
    private static String scopeString(Jwt jwt) {
        Object scope = jwt.getClaims().get("scope");
        if (scope == null) {
            scope = jwt.getClaims().get("scp");
        }
        if (scope instanceof Collection<?> list) {
            return String.join(" ", list.stream().map(String::valueOf).toList());
        }
        return scope == null ? null : scope.toString();
    }
}
