package fr.hdsvault.api.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
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
 * The single-node token issuer: an ES256 (ECDSA P-256) key kept as a JWK in the data directory
 * (owner-only), used by {@code vault token} to sign and by the server to verify. Production
 * deployments configure their OpenID Connect provider instead (issue "Access control").
 */
public final class TokenIssuer {

    public static final String AUDIENCE = "hds-vault";
    public static final String ROLE_CLAIM = "vault_role";

    private final ECKey key;
    private final String issuer;
    private final Clock clock;

    private TokenIssuer(ECKey key, String issuer, Clock clock) {
        this.key = key;
        this.issuer = issuer;
        this.clock = clock;
    }

    public static TokenIssuer forHome(VaultHome home) {
        return new TokenIssuer(loadOrCreate(home.keys().resolve("jwt-issuer.jwk")), "urn:hds-vault:" + home.vaultId(),
                Clock.systemUTC());
    }

    private static ECKey loadOrCreate(Path file) {
        try {
            if (!Files.exists(file)) {
                ECKey created = new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                        .keyID(UUID.randomUUID().toString()).generate();
                OwnerOnlyFiles.writeAtomically(file, created.toJSONString().getBytes(StandardCharsets.UTF_8));
            }
            return ECKey.parse(Files.readString(file, StandardCharsets.UTF_8));
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
    public ECKey verificationKey() {
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
        if (grant.scope() != null) {
            claims.claim("scope", grant.scope());
        }
        if (grant.patient() != null) {
            claims.claim("patient", grant.patient());
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID())
                .type(JOSEObjectType.JWT).build(), claims.build());
        try {
            jwt.sign(new ECDSASigner(key));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign the token", e);
        }
        return jwt.serialize();
    }
}
