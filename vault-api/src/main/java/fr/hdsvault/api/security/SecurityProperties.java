package fr.hdsvault.api.security;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.security.*}: where tokens come from and how long they live, break-glass, rate
 * limits, mutual TLS.
 * Defaults are the safe ones (docs/access-control.md).
 */
@ConfigurationProperties("vault.security")
public record SecurityProperties(
        @DefaultValue Oidc oidc,
        @DefaultValue BreakGlass breakGlass,
        @DefaultValue RateLimit rateLimit,
        @DefaultValue RefusalLimit refusalLimit,
        @DefaultValue Mtls mtls,
        @DefaultValue Tokens tokens) {

    /**
     * Bearer token checks: the longest lifetime accepted (stated, and left at use), and the clock
     * difference tolerated with the issuer for exp, nbf and iat.
     */
    public record Tokens(@DefaultValue("1h") Duration maxLifetime, @DefaultValue("30s") Duration clockSkew) {
    }

    /**
     * An external OpenID Connect provider. With neither URI set, the vault's single-node issuer
     * (data directory key, {@code vault token}) is the only one trusted.
     *
     * @param consoleClientId the console's client id at the provider (a public client, redirect URI
     *                        {@code https://VAULT/console/index.html}): with both endpoints set, the
     *                        console logs in by the authorization code flow with PKCE (docs/console.md)
     */
    public record Oidc(String issuerUri, String jwkSetUri, @DefaultValue("hds-vault") String audience,
                       @DefaultValue("vault_role") String roleClaim, String defaultRole,
                       String authorizationEndpoint, String tokenEndpoint, String consoleClientId) {
        public boolean external() {
            return notBlank(issuerUri) || notBlank(jwkSetUri);
        }

        /** Whether the console can send its users to the provider to log in. */
        public boolean consoleLogin() {
            return external() && notBlank(authorizationEndpoint) && notBlank(tokenEndpoint) && notBlank(consoleClientId);
        }

        /** The origin ({@code https://host:port}) of the token endpoint the console calls to log in, or null when it does not. */
        public String consoleTokenOrigin() {
            if (!consoleLogin()) {
                return null;
            }
            java.net.URI token = java.net.URI.create(tokenEndpoint);
            return token.getScheme() + "://" + token.getRawAuthority();
        }
    }

    public record BreakGlass(@DefaultValue("false") boolean enabled) {
    }

    /** Token bucket per caller: {@code perSecond} sustained, {@code burst} at once; 0 turns it off. */
    public record RateLimit(@DefaultValue("1000") double perSecond, @DefaultValue("2000") int burst) {
    }

    /**
     * Refusals (401, 403) per client address: {@code perSecond} sustained, {@code burst} at once;
     * beyond, the address gets 429 until its bucket refills. 0 turns it off.
     */
    public record RefusalLimit(@DefaultValue("10") double perSecond, @DefaultValue("100") int burst) {
    }

    /** Client certificates issued by {@code trustedCa} (PEM) identify the systems listed in {@code clients}. */
    public record Mtls(String trustedCa, @DefaultValue List<Client> clients) {
        public boolean enabled() {
            return notBlank(trustedCa);
        }
    }

    /** A system client: the certificate's subject CN, and the role and scopes it acts with. */
    public record Client(String commonName, String role, String scope) {
    }

    static boolean notBlank(String s) {
        return s != null && !s.isBlank();
    }
}
