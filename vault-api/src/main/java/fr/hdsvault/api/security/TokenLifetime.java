package fr.hdsvault.api.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;

/**
 * A bearer token must expire, and soon: {@code exp} is required (Spring accepts a token without
 * one forever), and neither its stated lifetime ({@code exp - iat}) nor what is left of it
 * ({@code exp - now}) may exceed the maximum, so that a leaked token is worth little. Applied to
 * the vault's own tokens and to an external provider's alike.
 */
final class TokenLifetime implements OAuth2TokenValidator<Jwt> {

    private final Duration max;
    private final Duration skew;
    private final Clock clock;

    TokenLifetime(Duration max, Duration skew, Clock clock) {
        this.max = max;
        this.skew = skew;
        this.clock = clock;
    }

    @Override
    public OAuth2TokenValidatorResult validate(Jwt jwt) {
        Instant exp = jwt.getExpiresAt();
        if (exp == null) {
            return refuse("The token has no expiry (exp): tokens that never expire are refused");
        }
        Instant iat = jwt.getIssuedAt();
        if (iat != null && Duration.between(iat, exp).compareTo(max) > 0) {
            return refuse("The token's lifetime exceeds the maximum of " + max.toMinutes() + " minutes");
        }
        if (Duration.between(clock.instant(), exp).compareTo(max.plus(skew)) > 0) {
            return refuse("The token expires more than " + max.toMinutes() + " minutes from now");
        }
        return OAuth2TokenValidatorResult.success();
    }

    private static OAuth2TokenValidatorResult refuse(String why) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token", why, null));
    }
}
