package fr.hdsvault.api.security;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What a caller is, which caps what its scopes can grant (separation of duties): the host's own
 * staff (auditor, operator) never reach a clinical resource whatever their token's scopes say.
 */
public enum Role {
    /** Clinical read and write, within its scopes. */
    PRACTITIONER(EnumSet.allOf(Permission.class), "user/*.cruds"),
    /** Read of its own compartment only. */
    PATIENT(EnumSet.of(Permission.READ, Permission.SEARCH), "patient/*.rs"),
    /** The audit trail only. */
    AUDITOR(EnumSet.noneOf(Permission.class), null),
    /** Backups and restore drills (key rotation will be theirs too); no clinical resource. */
    OPERATOR(EnumSet.noneOf(Permission.class), null),
    /**
     * A registered backend client (SMART Backend Services, {@code security.smart}): reads within
     * the system/ scopes its token was granted, across patients; never writes.
     */
    SERVICE(EnumSet.of(Permission.READ, Permission.SEARCH), null);

    private final Set<Permission> clinical;
    private final String defaultScopes;

    Role(Set<Permission> clinical, String defaultScopes) {
        this.clinical = clinical;
        this.defaultScopes = defaultScopes;
    }

    /** The most this role may do to clinical resources, whatever its scopes. */
    public Set<Permission> clinicalCap() {
        return clinical;
    }

    /** The scopes {@code vault token} grants when none are asked for; null for none. */
    public String defaultScopes() {
        return defaultScopes;
    }

    public String claimValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Role> fromClaim(String value) {
        if (value == null) {
            return Optional.empty();
        }
        for (Role r : values()) {
            if (r.claimValue().equals(value.strip().toLowerCase(Locale.ROOT))) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
