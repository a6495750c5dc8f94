package fr.hdsvault.api.security.smart;

import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.SmartScope;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A SMART Backend Services client as registered: its id, where its public keys are (a JWK set
 * given at registration, or the URL where it publishes them) and the system/ scopes it may be
 * granted. Those scopes are read-only ({@link Role#SERVICE}): a backend client exports, it does
 * not write.
 */
public record BackendClient(String id, String jwks, String jwksUrl, String scopes, Instant registeredAt, String registeredBy,
                            Instant disabledAt) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._~-]{1,128}");

    public boolean enabled() {
        return disabledAt == null;
    }

    /**
     * The requested scopes this client may have: each system/ scope whose type and permissions
     * one of its registered scopes covers ({@code system/Patient.rs} under {@code system/*.rs},
     * v1 {@code system/*.read} under v2 {@code system/*.rs} and back). Others are left out, as
     * RFC 6749 lets a server grant less than asked; the answer's {@code scope} says what was granted.
     */
    public List<String> grantable(String requested) {
        List<SmartScope> allowed = SmartScope.parseAll(scopes);
        Set<String> granted = new LinkedHashSet<>();
        for (String s : requested.strip().split("\\s+")) {
            Optional<SmartScope> scope = SmartScope.parse(s);
            if (scope.isPresent() && scope.get().context() == SmartScope.Context.SYSTEM
                    && allowed.stream().anyMatch(a -> covers(a, scope.get()))) {
                granted.add(s);
            }
        }
        return new ArrayList<>(granted);
    }

    private static boolean covers(SmartScope allowed, SmartScope asked) {
        return ("*".equals(allowed.resourceType()) || allowed.resourceType().equals(asked.resourceType()))
                && allowed.permissions().containsAll(asked.permissions());
    }

    /** @throws IllegalArgumentException naming what is wrong with a client id */
    static void requireValidId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("a client id is 1 to 128 letters, digits, '.', '_', '~' or '-'");
        }
    }

    /**
     * The scopes a client may be registered with: system/ clinical scopes within what a backend
     * service may do (read and search), e.g. {@code system/*.rs}, {@code system/Observation.read}.
     * @throws IllegalArgumentException naming the first scope that is not one
     */
    static String requireValidScopes(String scopes) {
        if (scopes == null || scopes.isBlank()) {
            throw new IllegalArgumentException("a client needs at least one scope, e.g. system/*.rs");
        }
        List<String> out = new ArrayList<>();
        for (String s : scopes.strip().split("\\s+")) {
            Optional<SmartScope> scope = SmartScope.parse(s);
            if (scope.isEmpty() || scope.get().context() != SmartScope.Context.SYSTEM) {
                throw new IllegalArgumentException("scope " + s + " is not a system/ clinical scope (e.g. system/*.rs)");
            }
            if (!Role.SERVICE.clinicalCap().containsAll(scope.get().permissions())) {
                throw new IllegalArgumentException("scope " + s + " grants more than read and search, which backend clients may not have");
            }
            out.add(s);
        }
        return String.join(" ", out);
    }
}
