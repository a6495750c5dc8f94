package fr.hdsvault.api.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;

/**
 * The verified-token cache answers a token it verified without verifying it again, and never
 * where the verifier would now refuse it: after its expiry, once its key is no longer trusted,
 * after the maximum age, and never for a token the verifier refused.
 */
class VerifiedTokensTest {

    static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    /** Accepts "good-*" tokens (key "k1", expiring 30 minutes after T0) unless told to refuse one; counts its calls. */
    static final class CountingVerifier implements JwtDecoder {
        final AtomicInteger calls = new AtomicInteger();
        final Set<String> refused = ConcurrentHashMap.newKeySet();

        @Override
        public Jwt decode(String token) {
            calls.incrementAndGet();
            if (!token.startsWith("good-") || refused.contains(token)) {
                throw new BadJwtException("refused");
            }
            return Jwt.withTokenValue(token).header("alg", "RS256").header("kid", "k1").subject(token)
                    .issuedAt(T0).expiresAt(T0.plus(Duration.ofMinutes(30))).build();
        }
    }

    static final class MovableClock extends Clock {
        volatile Instant now = T0;

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    @Test
    void aTokenIsVerifiedOnceThenAnsweredFromMemory() {
        CountingVerifier verifier = new CountingVerifier();
        VerifiedTokens tokens = new VerifiedTokens(verifier, jwt -> true, new MovableClock());
        for (int i = 0; i < 5; i++) {
            assertThat(tokens.decode("good-a").getSubject()).isEqualTo("good-a");
        }
        assertThat(tokens.decode("good-b").getSubject()).as("another token is its own entry").isEqualTo("good-b");
        assertThat(verifier.calls).hasValue(2);
    }

    @Test
    void aRefusedTokenIsNeverKeptAndIsRefusedEveryTime() {
        CountingVerifier verifier = new CountingVerifier();
        VerifiedTokens tokens = new VerifiedTokens(verifier, jwt -> true, new MovableClock());
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> tokens.decode("forged")).isInstanceOf(BadJwtException.class);
        }
        assertThat(verifier.calls).hasValue(3);
        assertThat(tokens.size()).isZero();
    }

    @Test
    void anExpiredTokenIsVerifiedAgainSoRefused() {
        CountingVerifier verifier = new CountingVerifier();
        MovableClock clock = new MovableClock();
        VerifiedTokens tokens = new VerifiedTokens(verifier, jwt -> true, clock);
        tokens.decode("good-a");
        clock.now = T0.plus(Duration.ofMinutes(30)); // its exp
        verifier.refused.add("good-a"); // what the verifier's time check says of it now
        assertThatThrownBy(() -> tokens.decode("good-a")).isInstanceOf(BadJwtException.class);
        assertThat(verifier.calls).hasValue(2);
    }

    @Test
    void aTokenWhoseKeyIsNoLongerTrustedIsVerifiedAgainSoRefused() {
        CountingVerifier verifier = new CountingVerifier();
        Set<Object> trustedKeys = ConcurrentHashMap.newKeySet();
        trustedKeys.add("k1");
        VerifiedTokens tokens = new VerifiedTokens(verifier, jwt -> trustedKeys.contains(jwt.getHeaders().get("kid")),
                new MovableClock());
        tokens.decode("good-a");
        tokens.decode("good-a");
        assertThat(verifier.calls).hasValue(1);
        trustedKeys.remove("k1"); // a rotation dropped the key
        verifier.refused.add("good-a");
        assertThatThrownBy(() -> tokens.decode("good-a")).isInstanceOf(BadJwtException.class);
    }

    @Test
    void anEntryLivesAtMostTheMaximumAgeAndNeverPastItsToken() {
        CountingVerifier verifier = new CountingVerifier();
        MovableClock clock = new MovableClock();
        VerifiedTokens tokens = new VerifiedTokens(verifier, jwt -> true, clock);
        tokens.decode("good-a"); // 30 minutes left: the cap decides
        assertThat(tokens.lifetimeNanos("good-a")).isBetween(VerifiedTokens.MAX_AGE.minusSeconds(1).toNanos(),
                VerifiedTokens.MAX_AGE.toNanos());
        clock.now = T0.plus(Duration.ofMinutes(28));
        tokens.decode("good-b"); // 2 minutes left: its expiry decides
        assertThat(tokens.lifetimeNanos("good-b")).isBetween(Duration.ofSeconds(119).toNanos(), Duration.ofMinutes(2).toNanos());
    }
}
