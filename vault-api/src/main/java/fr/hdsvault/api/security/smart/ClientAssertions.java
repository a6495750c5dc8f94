package fr.hdsvault.api.security.smart;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.AsymmetricJWK;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Authenticates a backend client by its assertion (SMART Backend Services; RFC 7523 with the
 * SMART profile): a JWT signed with RS384 or ES384 by a key the client registered, {@code iss}
 * and {@code sub} both its id, {@code aud} the token endpoint's URL, {@code exp} at most five
 * minutes ahead, and a {@code jti} never seen before by any node. Every refusal is
 * {@code invalid_client}; its description says which rule failed, never what was sent.
 */
public final class ClientAssertions {

    public static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS384, JWSAlgorithm.ES384);
    public static final Duration MAX_LIFETIME = Duration.ofMinutes(5);

    private final BackendClients clients;
    private final AssertionReplays replays;
    private final Duration skew;
    private final Clock clock;
    private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();

    public ClientAssertions(BackendClients clients, AssertionReplays replays, Duration skew, Clock clock) {
        this.clients = clients;
        this.replays = replays;
        this.skew = skew;
        this.clock = clock;
    }

    /** The enabled, registered client that signed {@code assertion} for {@code audience}, once. */
    public BackendClient verify(String assertion, String audience) {
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(assertion);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw OAuthError.invalidClient("The client assertion is not a signed JWT");
        }
        if (!ALGORITHMS.contains(jwt.getHeader().getAlgorithm())) {
            throw OAuthError.invalidClient("The client assertion must be signed with RS384 or ES384");
        }
        String id = claims.getIssuer();
        if (id == null || !id.equals(claims.getSubject())) {
            throw OAuthError.invalidClient("The client assertion's iss and sub must both be the client id");
        }
        // The same answer for an unknown and a disabled client: which ids exist is not told.
        BackendClient client = clients.find(id).filter(BackendClient::enabled)
                .orElseThrow(() -> OAuthError.invalidClient("No enabled client is registered with this id"));
        if (!signedByTheClient(jwt, client)) {
            throw OAuthError.invalidClient("The client assertion's signature does not verify with the client's registered keys");
        }
        try {
            checkClaims(claims, audience, client);
        } catch (OAuthError e) {
            throw e.signedBy(client.id()); // the client's own signature: its name goes to the trail
        }
        return client;
    }

    private void checkClaims(JWTClaimsSet claims, String audience, BackendClient client) {
        if (claims.getAudience() == null || !claims.getAudience().contains(audience)) {
            throw OAuthError.invalidClient("The client assertion's aud must be the token endpoint, " + audience);
        }
        Instant now = clock.instant();
        if (claims.getExpirationTime() == null) {
            throw OAuthError.invalidClient("The client assertion has no exp");
        }
        Instant exp = claims.getExpirationTime().toInstant();
        if (!now.isBefore(exp.plus(skew))) {
            throw OAuthError.invalidClient("The client assertion has expired");
        }
        if (exp.isAfter(now.plus(MAX_LIFETIME).plus(skew))) {
            throw OAuthError.invalidClient("The client assertion's exp is more than 5 minutes ahead");
        }
        String jti = claims.getJWTID();
        if (jti == null || jti.isBlank() || jti.length() > 255) {
            throw OAuthError.invalidClient("The client assertion needs a jti of 1 to 255 characters");
        }
        if (!replays.firstUse(client.id(), jti, exp.plus(skew))) {
            throw OAuthError.invalidClient("This client assertion (its jti) was already used");
        }
    }

    private boolean signedByTheClient(SignedJWT jwt, BackendClient client) {
        List<JWK> candidates;
        try {
            candidates = clients.keys(client).get(new JWKSelector(JWKMatcher.forJWSHeader(jwt.getHeader())), null);
        } catch (KeySourceException e) {
            throw OAuthError.invalidClient("The client's published keys cannot be fetched");
        }
        for (JWK key : candidates) {
            try {
                JWSVerifier verifier = verifiers.createJWSVerifier(jwt.getHeader(), ((AsymmetricJWK) key).toPublicKey());
                if (jwt.verify(verifier)) {
                    return true;
                }
            } catch (JOSEException | ClassCastException e) {
                // a key of another type or curve than the header's algorithm: not this one
            }
        }
        return false;
    }
}
