package fr.hdsvault.api.security.smart;

/**
 * An error of the token endpoint as RFC 6749 (section 5.2) names it: the code a client acts on, a
 * description for its developer (never a secret, never a value the caller sent), and the status:
 * 401 for {@code invalid_client} (the client did not authenticate), 400 for the others.
 */
public final class OAuthError extends RuntimeException {

    private final String code;
    /** The client whose signature verified before a later rule failed (a replay, an expiry), or null. */
    private final String client;

    private OAuthError(String code, String description) {
        this(code, description, null);
    }

    private OAuthError(String code, String description, String client) {
        super(description, null, false, false);
        this.code = code;
        this.client = client;
    }

    /** The same error, known to come from {@code clientId}'s own signed assertion. */
    OAuthError signedBy(String clientId) {
        return new OAuthError(code, getMessage(), clientId);
    }

    public String client() {
        return client;
    }

    public static OAuthError invalidRequest(String description) {
        return new OAuthError("invalid_request", description);
    }

    public static OAuthError invalidClient(String description) {
        return new OAuthError("invalid_client", description);
    }

    public static OAuthError invalidScope(String description) {
        return new OAuthError("invalid_scope", description);
    }

    public static OAuthError unsupportedGrantType(String description) {
        return new OAuthError("unsupported_grant_type", description);
    }

    public String code() {
        return code;
    }

    public String description() {
        return getMessage();
    }

    public int status() {
        return "invalid_client".equals(code) ? 401 : 400;
    }
}
