package fr.hdsvault.api;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * Tokens with any claims, signed by a given RSA key: the vault's own issuer key (read from the
 * data directory) or a test identity provider's. Builds the attacks the vault must refuse.
 */
final class TestTokens {

    final RSAKey key;
    final String issuer;
    final String audience;

    TestTokens(RSAKey key, String issuer, String audience) {
        this.key = key;
        this.issuer = issuer;
        this.audience = audience;
    }

    /** Signs with the single-node issuer key of a vault's data directory. */
    static TestTokens ofVault(Path dataDir) throws Exception {
        RSAKey key = (RSAKey) com.nimbusds.jose.jwk.JWKSet.parse(Files.readString(dataDir.resolve("keys").resolve("jwt-issuer.jwks")))
                .getKeys().get(0);
        String id = Files.readString(dataDir.resolve("vault-id")).strip();
        return new TestTokens(key, "urn:hds-vault:" + id, "hds-vault");
    }

    static RSAKey newKey(String keyId) throws Exception {
        return new RSAKeyGenerator(2048).keyID(keyId).algorithm(JWSAlgorithm.RS256).generate();
    }

    /** Valid claims for five minutes; {@code change} alters them before signing. */
    String sign(String subject, String role, String scope, String patient, UnaryOperator<JWTClaimsSet.Builder> change)
            throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer(issuer).audience(audience).subject(subject)
                .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(5))))
                .jwtID(UUID.randomUUID().toString());
        if (role != null) {
            claims.claim("vault_role", role);
        }
        if (scope != null) {
            claims.claim("scope", scope);
        }
        if (patient != null) {
            claims.claim("patient", patient);
        }
        return signClaims(key, change.apply(claims).build());
    }

    String sign(String subject, String role, String scope, String patient) throws Exception {
        return sign(subject, role, scope, patient, UnaryOperator.identity());
    }

    static String signClaims(RSAKey key, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
                claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }
}
