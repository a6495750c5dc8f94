package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.security.smart.TokenEndpoint;
import fr.hdsvault.crypto.Keyring;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.AbstractConfigurableWebServerFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtDecoders;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.intercept.AuthorizationFilter;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Authentication and the coarse, per-path rules (Spring Security resource server):
 * <ul>
 *   <li>public: the CapabilityStatement, the SMART configuration, the single-node JWKS, health probes;</li>
 *   <li>{@code /fhir/**}: practitioners, patients, auditors and backend services (what each may see
 *       is decided per resource by {@link AccessPolicy}); operators never reach a clinical resource;</li>
 *   <li>{@code POST /auth/token}: anyone; the client authenticates with its signed assertion ({@link TokenEndpoint});</li>
 *   <li>{@code /admin/audit/**}: auditors (checkpoints, proofs);</li>
 *   <li>{@code /admin/**}: operators (backups, drills, the root key, backend clients);</li>
 *   <li>{@code /actuator/prometheus}: operators (metrics);</li>
 *   <li>everything else: authenticated.</li>
 * </ul>
 * Tokens come from the configured OpenID Connect provider, or else from the single-node issuer;
 * client certificates from the configured CA when mutual TLS is on.
 */
@Configuration
@EnableConfigurationProperties(SecurityProperties.class)
public class SecurityConfig {

    static final String[] PUBLIC_GETS = {"/fhir/metadata", SmartConfigurationServlet.FHIR_PATH, SmartConfigurationServlet.ROOT_PATH,
            SmartConfigurationServlet.JWKS_PATH, "/actuator/health", "/actuator/health/**",
            // The console's static files: no data, which its script asks of the API with the user's token (docs/console.md).
            "/console", fr.hdsvault.api.web.SecurityHeaders.CONSOLE_PATH + "**"};

    /** Hands the authenticated caller to the audit trail, which records the request after this chain has ended. */
    private static final jakarta.servlet.Filter CALLER_TO_AUDIT = (request, response, chain) -> {
        fr.hdsvault.api.audit.AuditContext.of(request).ifPresent(audit -> {
            try {
                audit.caller(AccessPolicy.currentCaller());
            } catch (ca.uhn.fhir.rest.server.exceptions.AuthenticationException anonymous) {
                // recorded as unauthenticated
            }
        });
        chain.doFilter(request, response);
    };

    /** Between the audit filter (-102) and Spring Security (-100): limits refusals before authentication runs. */
    @Bean
    org.springframework.boot.web.servlet.FilterRegistrationBean<RefusalLimiter> refusalLimiter(SecurityProperties properties,
                                                                                            FhirContext fhir) {
        var registration = new org.springframework.boot.web.servlet.FilterRegistrationBean<>(
                new RefusalLimiter(properties.refusalLimit(), fhir));
        registration.setOrder(-101);
        return registration;
    }

    /**
     * No Spring Security observation at all: the property that disables them
     * (application.properties) only makes each one a no-op, and every filter of the chain is still
     * wrapped on every request. The vault exports no traces; its metrics are its own.
     */
    @Bean
    SecurityObservationSettings securityObservations() {
        return SecurityObservationSettings.noObservations();
    }

    @Bean
    AccessPolicy accessPolicy(SecurityProperties properties) {
        return new AccessPolicy(properties.breakGlass().enabled());
    }

    /** Every node's issuer keys: this node's from its directory, the others' from the database (PublishedIssuerKeys). */
    @Bean
    TokenIssuer.VerificationKeys issuerKeys(TokenIssuer issuer, JdbcTemplate jdbc, PlatformTransactionManager transactions,
                                            Keyring keyring, VaultIdentity identity) {
        return issuer.verificationKeys(new PublishedIssuerKeys(jdbc, new TransactionTemplate(transactions),
                keyring.hmacKey(PublishedIssuerKeys.MAC_KEY), identity.nodeId(), Clock.systemUTC()));
    }

    @Bean
    JwtDecoder jwtDecoder(TokenIssuer issuer, TokenIssuer.VerificationKeys issuerKeys, SecurityProperties properties) {
        SecurityProperties.Oidc oidc = properties.oidc();
        SecurityProperties.Tokens limits = properties.tokens();
        NimbusJwtDecoder decoder;
        List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>();
        // exp, nbf and iat within the configured skew (Spring's default is 60 s), and a bounded lifetime.
        validators.add(new JwtTimestampValidator(limits.clockSkew()));
        validators.add(new TokenLifetime(limits.maxLifetime(), limits.clockSkew(), Clock.systemUTC()));
        if (!oidc.external()) {
            decoder = NimbusJwtDecoder.withJwkSource(issuerKeys).jwsAlgorithm(SignatureAlgorithm.RS256).build();
            validators.add(new JwtIssuerValidator(issuer.issuer()));
        } else if (SecurityProperties.notBlank(oidc.jwkSetUri())) {
            // The JWK set is fetched, cached and fetched again on an unknown key id: keys rotate without a restart.
            decoder = NimbusJwtDecoder.withJwkSetUri(oidc.jwkSetUri())
                    .jwsAlgorithms(a -> a.addAll(List.of(SignatureAlgorithm.RS256, SignatureAlgorithm.PS256, SignatureAlgorithm.ES256)))
                    .build();
            if (SecurityProperties.notBlank(oidc.issuerUri())) {
                validators.add(new JwtIssuerValidator(oidc.issuerUri()));
            }
        } else {
            decoder = (NimbusJwtDecoder) JwtDecoders.fromIssuerLocation(oidc.issuerUri());
            validators.add(new JwtIssuerValidator(oidc.issuerUri()));
        }
        String audience = oidc.external() ? oidc.audience() : TokenIssuer.AUDIENCE;
        validators.add(jwt -> jwt.getAudience() != null && jwt.getAudience().contains(audience)
                ? OAuth2TokenValidatorResult.success()
                : OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token",
                        "The token is not issued for audience " + audience, null)));
        decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(validators));
        return new VerifiedTokens(decoder, oidc.external() ? jwt -> true : issuerKeys::trusts, Clock.systemUTC());
    }

    @Bean
    SecurityFilterChain securityFilterChain(HttpSecurity http, JwtDecoder decoder, FhirContext fhir,
                                            SecurityProperties properties) throws Exception {
        FhirAuthenticationEntryPoint outcomes = new FhirAuthenticationEntryPoint(fhir);
        SecurityProperties.Oidc oidc = properties.oidc();
        CallerJwtConverter callers = new CallerJwtConverter(oidc.external() ? oidc.roleClaim() : TokenIssuer.ROLE_CLAIM,
                oidc.external() ? Role.fromClaim(oidc.defaultRole()).orElse(null) : null);
        http.authorizeHttpRequests(a -> a
                        .requestMatchers(HttpMethod.GET, PUBLIC_GETS).permitAll()
                        .requestMatchers(HttpMethod.POST, TokenEndpoint.PATH).permitAll() // the client assertion authenticates
                        .requestMatchers("/fhir/**").hasAnyRole(Role.PRACTITIONER.name(), Role.PATIENT.name(), Role.AUDITOR.name(),
                                Role.SERVICE.name())
                        .requestMatchers("/admin/audit/**").hasRole(Role.AUDITOR.name())
                        .requestMatchers("/admin/**").hasRole(Role.OPERATOR.name())
                        .requestMatchers("/actuator/prometheus").hasRole(Role.OPERATOR.name())
                        .anyRequest().authenticated())
                .oauth2ResourceServer(o -> o.jwt(j -> j.decoder(decoder).jwtAuthenticationConverter(callers))
                        .authenticationEntryPoint(outcomes).accessDeniedHandler(outcomes)
                        // RFC 9728 metadata: tokens are not bound to client certificates here; say only what is true.
                        .protectedResourceMetadata(m -> m.protectedResourceMetadataCustomizer(b -> {
                            b.tlsClientCertificateBoundAccessTokens(false);
                            if (SecurityProperties.notBlank(oidc.issuerUri())) {
                                b.authorizationServer(oidc.issuerUri());
                            }
                        })))
                .exceptionHandling(e -> e.authenticationEntryPoint(outcomes).accessDeniedHandler(outcomes))
                .addFilterBefore(CALLER_TO_AUDIT, AuthorizationFilter.class)
                .addFilterBefore(new RateLimitFilter(properties.rateLimit(), fhir), AuthorizationFilter.class)
                .csrf(c -> c.disable())
                .cors(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                // Every response gets its security headers from one place, whichever layer answers (web.SecurityHeaders).
                .headers(h -> h.disable());
        if (properties.mtls().enabled()) {
            ClientCertificates certificates = new ClientCertificates(properties.mtls().clients());
            http.x509(x -> x.subjectPrincipalRegex("CN=(.*?)(?:,|$)").authenticationUserDetailsService(certificates));
        }
        return http.build();
    }

    /**
     * With mutual TLS on, the TLS layer asks for (but does not require) a client certificate and
     * accepts only those of the configured CA; bearer tokens keep working for everyone else.
     */
    @Bean
    WebServerFactoryCustomizer<AbstractConfigurableWebServerFactory> clientCertificateTls(SecurityProperties properties) {
        return factory -> {
            if (properties.mtls().enabled() && factory.getSsl() != null) {
                factory.getSsl().setClientAuth(Ssl.ClientAuth.WANT);
                factory.getSsl().setTrustCertificate(Path.of(properties.mtls().trustedCa()).toUri().toString());
            }
        };
    }

    @Bean
    ServletRegistrationBean<SmartConfigurationServlet> smartConfiguration(TokenIssuer issuer, TokenIssuer.VerificationKeys issuerKeys,
                                                                          SecurityProperties properties,
                                                                          fr.hdsvault.api.web.TrustedProxies proxies) {
        SmartConfigurationServlet servlet = new SmartConfigurationServlet(
                properties.oidc().external() ? null : issuer.issuer(), issuerKeys, properties, proxies);
        return new ServletRegistrationBean<>(servlet, SmartConfigurationServlet.FHIR_PATH, SmartConfigurationServlet.ROOT_PATH,
                SmartConfigurationServlet.JWKS_PATH);
    }
}
