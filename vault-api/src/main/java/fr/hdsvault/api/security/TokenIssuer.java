package fr.hdsvault.api.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/**
 * The vault's own token issuer: RS256 keys (RSA 3072) kept as a JWK set in each node's data
 * directory (owner-only), newest first. {@code vault token} signs with the newest; the server
 * verifies with every key of the set and reloads it when it changes, so {@link #rotate} takes
 * effect without a restart and tokens signed before a rotation stay valid until they expire (the
 * previous key is kept, older ones dropped). The nodes of one vault share one issuer name and
 * exchange their public keys through the database ({@link PublishedIssuerKeys}), so any node
 * accepts any node's tokens. Production deployments configure their OpenID Connect provider instead.
 *
 * <p>Why RSA: every request verifies a token, and the JDK 17's pure-Java ECDSA took about
 * 1.5-1.9 ms per ES256 verification here against 0.05-0.08 ms for RS256 (docs/performance.md).
 */
public final class TokenIssuer {

    public static final String AUDIENCE = "hds-vault";
    public static final String ROLE_CLAIM = "vault_role";
    /** The longest lifetime the vault accepts by default (vault.security.tokens.max-lifetime), and so the longest it issues. */
    public static final Duration MAX_LIFETIME = Duration.ofHours(1);
    static final String KEYS_FILE = "jwt-issuer.jwks";
    private static final int KEPT_KEYS = 2;

    private final Path file;
    private final String issuer;
    private final Clock clock;

    private TokenIssuer(Path file, String issuer, Clock clock) {
        this.file = file;
        this.issuer = issuer;
        this.clock = clock;
    }

    /** The issuer of the vault the data directory belongs to (the command line's: the directory's vault id). */
    public static TokenIssuer forHome(VaultHome home) {
        return of(home, home.vaultId());
    }

    /** Synchronized: the key may be generated on a start-up thread while Spring starts (ServeCommand); one key per home. */
    public static synchronized TokenIssuer of(VaultHome home, String vaultId) {
        Path file = home.keys().resolve(KEYS_FILE);
        Path legacy = home.keys().resolve("jwt-issuer.jwk"); // one key, before rotation existed
        if (!Files.exists(file)) {
            write(file, Files.exists(legacy) ? read(legacy) : new JWKSet(newKey()));
        }
        return new TokenIssuer(file, "urn:hds-vault:" + vaultId, Clock.systemUTC());
    }

    public String issuer() {
        return issuer;
    }

    /** Adds a new signing key in front of the set, keeps the previous one for verification; returns the new key id. */
    public String rotate() {
        List<JWK> keys = new ArrayList<>(read(file).getKeys());
        RSAKey fresh = newKey();
        keys.add(0, fresh);
        write(file, new JWKSet(keys.subList(0, Math.min(KEPT_KEYS, keys.size()))));
        return fresh.getKeyID();
    }

    /**
     * The public keys of this node and of every other node of the vault: this node's are
     * published in the database, the others' read from it.
     */
    public VerificationKeys verificationKeys(PublishedIssuerKeys published) {
        return new VerificationKeys(file, published);
    }

    /**
     * What a token says about its bearer; {@code client}, when not null, the OAuth client it was
     * issued to ({@code client_id}); {@code fhirUser}, when not null, the user's own FHIR resource
     * ({@code Practitioner/123}), as SMART's claim of that name.
     */
    public record Grant(String subject, String role, String scope, String patient, Duration ttl, String client, String fhirUser) {
        public Grant(String subject, String role, String scope, String patient, Duration ttl) {
            this(subject, role, scope, patient, ttl, null, null);
        }

        public Grant(String subject, String role, String scope, String patient, Duration ttl, String client) {
            this(subject, role, scope, patient, ttl, client, null);
        }
    }

    /** The same issuer reading another clock: a token issued in the past (the evidence report's expired probe). */
    public TokenIssuer at(Clock other) {
        return new TokenIssuer(file, issuer, other);
    }

    public String issue(Grant grant) {
        RSAKey key = (RSAKey) read(file).getKeys().get(0);
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
        if (grant.client() != null) {
            claims.claim("client_id", grant.client());
        }
        if (grant.fhirUser() != null) {
            claims.claim("fhirUser", grant.fhirUser());
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

    /** The {@code jti} of a token this issuer signed. */
    public static String jwtId(String token) {
        try {
            return SignedJWT.parse(token).getJWTClaimsSet().getJWTID();
        } catch (ParseException e) {
            throw new IllegalArgumentException("not a signed token", e);
        }
    }

    /**
     * The issuers' public keys as a JWK source for the token decoder: this node's, from its data
     * directory, and the other nodes', from the database. Both are checked again when a token
     * names an unknown key id (a rotation, a new node), at most once a second, and every few
     * seconds otherwise (a key dropped by a rotation, or expired, stops verifying).
     */
    public static final class VerificationKeys implements JWKSource<SecurityContext> {
        private static final long RECHECK_NANOS = Duration.ofSeconds(5).toNanos();
        private static final long UNKNOWN_KEY_RECHECK_NANOS = Duration.ofSeconds(1).toNanos();

        private final Path file;
        private final PublishedIssuerKeys published;
        private volatile JWKSet own;
        private volatile List<JWK> others = List.of();
        private volatile JWKSet keys;
        private volatile FileTime loaded;
        private volatile long checkedAt;
        private volatile long databaseReadAt;

        VerificationKeys(Path file, PublishedIssuerKeys published) {
            this.file = file;
            this.published = published;
            reload(true, true);
        }

        @Override
        public List<JWK> get(JWKSelector selector, SecurityContext context) {
            if (System.nanoTime() - checkedAt > RECHECK_NANOS) {
                reload(false, true);
            }
            List<JWK> found = selector.select(keys);
            if (found.isEmpty()) {
                // An unknown key id: this node's rotation (the file: cheap, checked at once), or a key another node
                // published (the database: read at most once a second, whatever key ids a caller makes up).
                reload(false, System.nanoTime() - databaseReadAt > UNKNOWN_KEY_RECHECK_NANOS);
                found = selector.select(keys);
            }
            return found;
        }

        /**
         * Whether a token this set verified is still signed by a trusted key: its key id is
         * among the keys as they are now (checked again every few seconds, as for {@link #get}).
         */
        public boolean trusts(org.springframework.security.oauth2.jwt.Jwt jwt) {
            if (System.nanoTime() - checkedAt > RECHECK_NANOS) {
                reload(false, true);
            }
            Object kid = jwt.getHeaders().get("kid");
            return kid != null && keys.getKeyByKeyId(kid.toString()) != null;
        }

        /** Every node's public keys, as published at /.well-known/jwks.json: the tokens of any node verify with them. */
        public JWKSet publicSet() {
            reload(false, true);
            return keys;
        }

        private synchronized void reload(boolean first, boolean readDatabase) {
            checkedAt = System.nanoTime();
            FileTime modified;
            try {
                modified = Files.getLastModifiedTime(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the token issuer keys " + file, e);
            }
            boolean changed = first || !modified.equals(loaded);
            if (changed) {
                loaded = modified;
                own = read(file).toPublicJWKSet();
            }
            if (changed || readDatabase) { // a changed set is published at once
                others = published.exchange(own, changed);
                databaseReadAt = System.nanoTime();
            }
            List<JWK> all = new ArrayList<>(own.getKeys());
            all.addAll(others);
            keys = new JWKSet(all);
        }
    }

    private static RSAKey newKey() {
        try {
            return new RSAKeyGenerator(3072).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256)
                    .keyID(UUID.randomUUID().toString()).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate a token issuer key", e);
        }
    }

    private static JWKSet read(Path file) {
        try {
            return JWKSet.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the token issuer keys " + file, e);
        } catch (ParseException e) {
            throw new IllegalStateException("the token issuer keys " + file + " are unusable", e);
        }
    }

    private static void write(Path file, JWKSet keys) {
        try {
            OwnerOnlyFiles.writeAtomically(file, keys.toString(false).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the token issuer keys " + file, e);
        }
    }
}
