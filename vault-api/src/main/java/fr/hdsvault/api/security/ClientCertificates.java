package fr.hdsvault.api.security;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.userdetails.AuthenticationUserDetailsService;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.security.web.authentication.preauth.PreAuthenticatedAuthenticationToken;

/**
 * Mutual TLS: a client certificate that the TLS layer already verified against the configured
 * CA names a system client by its subject CN; configuration maps it to a role and scopes, the
 * way a CPS card or a server certificate identifies a professional or a system in French health
 * IT. A certificate of the CA that is not listed authenticates nobody.
 */
final class ClientCertificates implements AuthenticationUserDetailsService<PreAuthenticatedAuthenticationToken> {

    private final Map<String, Caller> byCommonName;

    ClientCertificates(List<SecurityProperties.Client> clients) {
        this.byCommonName = clients.stream().collect(Collectors.toUnmodifiableMap(SecurityProperties.Client::commonName,
                ClientCertificates::caller));
    }

    private static Caller caller(SecurityProperties.Client client) {
        Role role = Role.fromClaim(client.role()).orElseThrow(() -> new IllegalArgumentException(
                "vault.security.mtls.clients: unknown role " + client.role() + " for " + client.commonName()));
        List<SmartScope> scopes = SmartScope.parseAll(client.scope());
        if (role == Role.PATIENT || scopes.stream().anyMatch(s -> s.context() == SmartScope.Context.PATIENT)) {
            throw new IllegalArgumentException("vault.security.mtls.clients: " + client.commonName()
                    + " is a system client; patient context needs a token");
        }
        return new Caller(client.commonName(), role, scopes, null, null, client.commonName(), "mtls", null);
    }

    @Override
    public UserDetails loadUserDetails(PreAuthenticatedAuthenticationToken token) {
        Caller caller = byCommonName.get(String.valueOf(token.getPrincipal()));
        if (caller == null) {
            throw new UsernameNotFoundException("This client certificate is not mapped to a role");
        }
        return new CertificateCaller(caller);
    }

    /** The principal of a certificate-authenticated request. */
    record CertificateCaller(Caller caller) implements UserDetails {
        @Override
        public Collection<? extends GrantedAuthority> getAuthorities() {
            return List.of(new SimpleGrantedAuthority("ROLE_" + caller.role().name()));
        }

        @Override
        public String getPassword() {
            return "";
        }

        @Override
        public String getUsername() {
            return caller.subject();
        }
    }
}
