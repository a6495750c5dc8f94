package fr.hdsvault.api.security;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.function.Predicate;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;

/**
 * A token decoder that verifies each token once (signature, issuer, audience, times: the
 * delegate's checks), then answers the same token from memory until it expires. A client sends
 * the same bearer token with every request; verifying its RSA signature and its claims each time
 * was a tenth of a read's CPU.
 *
 * <p>What the cache never changes: a token is never accepted after its {@code exp}; a token whose
 * issuer key is no longer trusted (a rotation dropped it, its node's publication expired) is
 * verified again, so refused, on its next use ({@code stillTrusted}, checked on every hit); an
 * entry is kept at most {@link #MAX_AGE}, so that whatever the delegate would now refuse for
 * another reason (an external provider's key set changed) is refused within that time. Refused
 * tokens are not kept. Entries are keyed by the token's SHA-256, so the map holds no bearer
 * token, and bounded in number.
 */
public final class VerifiedTokens implements JwtDecoder {

    static final Duration MAX_AGE = Duration.ofMinutes(5);
    static final int MAX_ENTRIES = 20_000;

    private final JwtDecoder delegate;
    private final Predicate<Jwt> stillTrusted;
    private final Clock clock;
    private final Cache<String, Jwt> verified;

    /**
     * @param stillTrusted whether a cached token's signing key is still one the vault trusts
     *                     (its key id among the issuer keys)
     */
    public VerifiedTokens(JwtDecoder delegate, Predicate<Jwt> stillTrusted, Clock clock) {
        this.delegate = delegate;
        this.stillTrusted = stillTrusted;
        this.clock = clock;
        this.verified = Caffeine.newBuilder().maximumSize(MAX_ENTRIES).expireAfter(new UntilExpiry(clock)).build();
    }

    @Override
    public Jwt decode(String token) throws JwtException {
        String key = sha256(token);
        Jwt jwt = verified.getIfPresent(key);
        if (jwt != null && jwt.getExpiresAt() != null && clock.instant().isBefore(jwt.getExpiresAt()) && stillTrusted.test(jwt)) {
            return jwt;
        }
        if (jwt != null) {
            verified.invalidate(key);
        }
        jwt = delegate.decode(token); // throws for a token it refuses: nothing kept
        if (jwt.getExpiresAt() != null) {
            verified.put(key, jwt);
        }
        return jwt;
    }

    /** The number of tokens held (tests). */
    long size() {
        verified.cleanUp();
        return verified.estimatedSize();
    }

    /** How long a token's entry has left, in nanoseconds; -1 if there is none (tests). */
    long lifetimeNanos(String token) {
        return verified.policy().expireVariably().orElseThrow()
                .getExpiresAfter(sha256(token), java.util.concurrent.TimeUnit.NANOSECONDS).orElse(-1L);
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An entry lives until its token expires, and at most {@link #MAX_AGE}. */
    private record UntilExpiry(Clock clock) implements Expiry<String, Jwt> {
        @Override
        public long expireAfterCreate(String key, Jwt jwt, long currentTime) {
            long left = Duration.between(clock.instant(), jwt.getExpiresAt()).toNanos();
            return Math.max(0, Math.min(left, MAX_AGE.toNanos()));
        }

        @Override
        public long expireAfterUpdate(String key, Jwt jwt, long currentTime, long currentDuration) {
            return expireAfterCreate(key, jwt, currentTime);
        }

        @Override
        public long expireAfterRead(String key, Jwt jwt, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
