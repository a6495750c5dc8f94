package fr.hdsvault.api.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/**
 * The single-node token issuer: an RS256 key (RSA 3072) kept as a JWK in the data directory
 * (owner-only), used by {@code vault token} to sign and by the server to verify. Production
 * deployments configure their OpenID Connect provider instead (issue "Access control").
 *
 * <p>Why RSA: every request verifies a token, and the JDK 17's pure-Java ECDSA took about
 * 1.5-1.9 ms per ES256 verification here against 0.05-0.08 ms for RS256 (docs/performance.md).
 */
public final class TokenIssuer {

    public static final String AUDIENCE = "hds-vault";
    public static final String ROLE_CLAIM = "vault_role";

    private final RSAKey key;
    private final String issuer;
    private final Clock clock;

    private TokenIssuer(RSAKey key, String issuer, Clock clock) {
        this.key = key;
        this.issuer = issuer;
        this.clock = clock;
    }

    public static TokenIssuer forHome(VaultHome home) {
        return new TokenIssuer(loadOrCreate(home.keys().resolve("jwt-issuer.jwk")), "urn:hds-vault:" + home.vaultId(),
                Clock.systemUTC());
    }

    private static RSAKey loadOrCreate(Path file) {
        try {
            if (!Files.exists(file)) {
                RSAKey created = new RSAKeyGenerator(3072).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256)
                        .keyID(UUID.randomUUID().toString()).generate();
                OwnerOnlyFiles.writeAtomically(file, created.toJSONString().getBytes(StandardCharsets.UTF_8));
            }
            return RSAKey.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the token issuer key " + file, e);
        } catch (JOSEException | ParseException e) {
            throw new IllegalStateException("the token issuer key " + file + " is unusable", e);
        }
    }

    public String issuer() {
        return issuer;
    }

    /** The public half only: what the server verifies with. */
    public RSAKey verificationKey() {
        return key.toPublicJWK();
    }

    /** What a token says about its bearer. */
    public record Grant(String subject, String role, String scope, String patient, Duration ttl) {
    }

    public String issue(Grant grant) {
        Instant now = clock.instant();
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .issuer(issuer)
                .audience(AUDIENCE)
                .subject(grant.subject())
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(grant.ttl())))
                .jwtID(UUID.randomUUID().toString())
                .claim(ROLE_CLAIM, grant.role());
        // Without explicit scopes, a token carries its role's default ones: access is always stated in the token.
        String scope = grant.scope() != null ? grant.scope() : Role.fromClaim(grant.role()).map(Role::defaultScopes).orElse(null);
        if (scope != null) {
            claims.claim("scope", scope);
        }
        if (grant.patient() != null) {
            claims.claim("patient", grant.patient());
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID())
                .type(JOSEObjectType.JWT).build(), claims.build());
        try {
            jwt.sign(new RSASSASigner(key));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign the token", e);
        }
        return jwt.serialize();
    }
}
