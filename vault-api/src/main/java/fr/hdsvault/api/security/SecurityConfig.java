package fr.hdsvault.api.security;

import ca.uhn.fhir.context.FhirContext;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.web.SecurityFilterChain;

/**
 * Every request needs a valid bearer token of this vault's issuer, except the FHIR
 * CapabilityStatement (public, as FHIR and SMART clients expect) and the health probes.
 * Roles and SMART scopes are enforced by the access-control issue; here a valid token suffices.
 */
@Configuration
public class SecurityConfig {

    @Bean
    JwtDecoder jwtDecoder(TokenIssuer issuer) {
        NimbusJwtDecoder decoder = NimbusJwtDecoder
                .withJwkSource(new ImmutableJWKSet<>(new JWKSet(issuer.verificationKey())))
                .jwsAlgorithm(SignatureAlgorithm.RS256)
                .build();
        decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(
                JwtValidators.createDefaultWithIssuer(issuer.issuer()),
                jwt -> jwt.getAudience() != null && jwt.getAudience().contains(TokenIssuer.AUDIENCE)
                        ? OAuth2TokenValidatorResult.success()
                        : OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token",
                                "The token is not issued for audience " + TokenIssuer.AUDIENCE, null))));
        return decoder;
    }

    @Bean
    SecurityFilterChain securityFilterChain(HttpSecurity http, JwtDecoder decoder, FhirContext fhir) throws Exception {
        FhirAuthenticationEntryPoint outcomes = new FhirAuthenticationEntryPoint(fhir);
        http.authorizeHttpRequests(a -> a
                        .requestMatchers(HttpMethod.GET, "/fhir/metadata").permitAll()
                        .requestMatchers(HttpMethod.GET, "/actuator/health", "/actuator/health/**").permitAll()
                        .anyRequest().authenticated())
                .oauth2ResourceServer(o -> o.jwt(j -> j.decoder(decoder))
                        .authenticationEntryPoint(outcomes).accessDeniedHandler(outcomes))
                .exceptionHandling(e -> e.authenticationEntryPoint(outcomes).accessDeniedHandler(outcomes))
                .csrf(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .headers(h -> h.cacheControl(c -> { }));
        return http.build();
    }

}
