package fr.hdsvault.api.security;

import java.util.List;

/**
 * Who is asking, as the vault understands it once authentication succeeded: from a bearer token
 * or a client certificate.
 *
 * @param subject   the token subject or the certificate's subject name
 * @param role      what the caller is (caps its scopes)
 * @param scopes    its SMART clinical scopes
 * @param patient   the patient in context (the {@code patient} claim), or null
 * @param fhirUser  the {@code fhirUser} claim (e.g. {@code Practitioner/123}), or null
 * @param clientId  the OAuth client ({@code azp} or {@code client_id}), or null
 * @param method    how it authenticated: {@code jwt} or {@code mtls}
 * @param tokenId   the token's {@code jti}, or null (a client certificate, a token without one)
 */
public record Caller(String subject, Role role, List<SmartScope> scopes, String patient, String fhirUser,
                     String clientId, String method, String tokenId) {

    public Caller {
        scopes = List.copyOf(scopes);
    }

    /** A key naming this caller's grants: results of a search are only served back to the same key. */
    public String grantKey() {
        return method + "|" + subject + "|" + role + "|" + patient + "|" + scopes;
    }
}
