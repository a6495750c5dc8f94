package fr.hdsvault.storage;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where data may be stored: a list of allowed region names, each exact or ending with
 * {@code *} as a prefix pattern. The default allows regions located in France only:
 * <ul>
 *   <li>{@code fr-par}: Paris (Scaleway);</li>
 *   <li>{@code eu-west-3}: Paris (AWS);</li>
 *   <li>{@code fr-*}: MinIO sites an operator names after French locations (fr-paris-1, fr-lyon...).</li>
 * </ul>
 * Region names belong to each provider: {@code eu-west-2} is London at AWS but France at
 * Outscale, so it is not in the default; an operator of such a provider adds it explicitly
 * (docs/storage.md, "Data residency").
 */
public final class ResidencyPolicy {

    public static final List<String> FRANCE = List.of("fr-par", "eu-west-3", "fr-*");

    private final List<String> allowed;
    private final List<Pattern> patterns;

    private ResidencyPolicy(List<String> allowed) {
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException("a residency policy needs at least one allowed region");
        }
        this.allowed = List.copyOf(allowed);
        this.patterns = allowed.stream().map(ResidencyPolicy::compile).toList();
    }

    public static ResidencyPolicy france() {
        return new ResidencyPolicy(FRANCE);
    }

    public static ResidencyPolicy of(List<String> allowed) {
        return new ResidencyPolicy(allowed.stream().map(String::strip).filter(s -> !s.isEmpty()).toList());
    }

    /** Parses a comma-separated list, as given in configuration: {@code "fr-par, eu-west-3, fr-*"}. */
    public static ResidencyPolicy parse(String commaSeparated) {
        return of(Arrays.asList(commaSeparated.split(",")));
    }

    private static Pattern compile(String entry) {
        String e = entry.toLowerCase(Locale.ROOT);
        if (!e.matches("[a-z0-9-]+\\*?")) {
            throw new IllegalArgumentException("not a region name or prefix pattern: " + entry);
        }
        return e.endsWith("*") ? Pattern.compile(Pattern.quote(e.substring(0, e.length() - 1)) + "[a-z0-9-]+")
                : Pattern.compile(Pattern.quote(e));
    }

    /** An empty or absent region (S3's default, us-east-1) is never allowed unless listed. */
    public boolean allows(String region) {
        String r = region == null || region.isBlank() ? "us-east-1" : region.strip().toLowerCase(Locale.ROOT);
        return patterns.stream().anyMatch(p -> p.matcher(r).matches());
    }

    public List<String> allowed() {
        return allowed;
    }

    @Override
    public String toString() {
        return String.join(", ", allowed);
    }
}
