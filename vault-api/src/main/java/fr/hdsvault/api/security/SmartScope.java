package fr.hdsvault.api.security;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One SMART App Launch clinical scope: {@code context/type.permissions}.
 * <ul>
 *   <li>v2: {@code patient/Observation.rs}, {@code user/*.cruds}, {@code system/Patient.r}
 *       (letters a subsequence of {@code cruds}, in that order);</li>
 *   <li>v1: {@code .read} (= {@code rs}), {@code .write} (= {@code cud}), {@code .*} (= {@code cruds}).</li>
 * </ul>
 * Granular v2 scopes ({@code ...?category=...}) grant nothing here: the vault cannot evaluate
 * their query on encrypted records, so it refuses to widen them to the whole type. Scopes that
 * are not clinical ({@code openid}, {@code fhirUser}, {@code launch/patient},
 * {@code offline_access}) are not access grants and are skipped.
 */
public record SmartScope(Context context, String resourceType, Set<Permission> permissions) {

    public enum Context { PATIENT, USER, SYSTEM }

    private static final Pattern CLINICAL = Pattern.compile("(patient|user|system)/([A-Za-z]+|\\*)\\.([a-z*]+)");

    public boolean grants(String type, Permission permission) {
        return permissions.contains(permission) && ("*".equals(resourceType) || resourceType.equals(type));
    }

    /** Parses a space-separated scope string; anything that is not a clinical scope is skipped. */
    public static List<SmartScope> parseAll(String scopes) {
        List<SmartScope> out = new ArrayList<>();
        if (scopes == null) {
            return out;
        }
        for (String s : scopes.trim().split("\\s+")) {
            parse(s).ifPresent(out::add);
        }
        return out;
    }

    public static Optional<SmartScope> parse(String scope) {
        Matcher m = CLINICAL.matcher(scope);
        if (!m.matches()) {
            return Optional.empty();
        }
        Set<Permission> permissions = permissions(m.group(3));
        if (permissions.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SmartScope(Context.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT)), m.group(2), permissions));
    }

    private static Set<Permission> permissions(String text) {
        switch (text) {
            case "read":
                return EnumSet.of(Permission.READ, Permission.SEARCH);
            case "write":
                return EnumSet.of(Permission.CREATE, Permission.UPDATE, Permission.DELETE);
            case "*":
                return EnumSet.allOf(Permission.class);
            default:
                break;
        }
        EnumSet<Permission> out = EnumSet.noneOf(Permission.class);
        int next = 0;
        Permission[] order = Permission.values();
        for (char c : text.toCharArray()) {
            while (next < order.length && order[next].letter() != c) {
                next++;
            }
            if (next == order.length) {
                return EnumSet.noneOf(Permission.class); // unknown letter, repeated or out of order: not a valid v2 scope
            }
            out.add(order[next++]);
        }
        return out;
    }
}
